# mistake: bias-grad-keepdim
# The bias gradient keeps a batch dimension of 1: [1, D_out], not the bias's own shape [D_out].
db = dz.sum(dim=0, keepdim=True)
dW = x.T @ dz
dx = dz @ W.T
return dx, dW, db
