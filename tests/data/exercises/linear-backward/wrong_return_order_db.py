# mistake: grads-swapped
# dW and db swapped in the returned tuple.
dx = dz @ W.T
dW = x.T @ dz
db = dz.sum(dim=0)
return dx, db, dW
