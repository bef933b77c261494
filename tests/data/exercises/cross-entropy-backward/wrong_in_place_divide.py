# mistake: probs-not-cloned
# The subtraction and the division done in place on probs.
probs[range(len(y)), y] -= 1
probs /= len(y)
return probs
