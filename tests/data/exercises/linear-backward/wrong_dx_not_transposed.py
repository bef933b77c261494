# mistake: linear-backward-w-not-transposed
# dL/dx through W instead of W.T (runs only when W is square).
dx = dz @ W
dW = x.T @ dz
db = dz.sum(dim=0)
return dx, dW, db
