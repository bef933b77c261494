# mistake: matmul-operands-swapped
# The product's operands in the wrong order.
dx = dz @ W.T
dW = dz @ x.T
db = dz.sum(dim=0)
return dx, dW, db
