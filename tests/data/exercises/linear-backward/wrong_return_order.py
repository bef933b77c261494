# mistake: grads-swapped
# Returned in the order the names come to mind, not the order the caller unpacks.
dW = x.T @ dz
dx = dz @ W.T
db = dz.sum(dim=0)
return dW, dx, db
