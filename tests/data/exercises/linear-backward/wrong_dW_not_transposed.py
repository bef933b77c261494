# mistake: linear-backward-x-not-transposed
# x @ dz: the batch dimension is not summed over (runs only when the layer's input width equals the batch size).
dx = dz @ W.T
dW = x @ dz
db = dz.sum(dim=0)
return dx, dW, db
