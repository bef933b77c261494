# mistake: ce-grad-mean-over-classes
# Divided by the number of classes instead of the number of examples.
dlogits = probs.clone()
dlogits[torch.arange(len(y)), y] -= 1.0
return dlogits / probs.shape[1]
