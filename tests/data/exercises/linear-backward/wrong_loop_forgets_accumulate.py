# mistake: none
# A per-example loop that overwrites dW instead of adding each example's outer product.
dx = dz @ W.T
dW = torch.zeros_like(W)
db = torch.zeros(W.shape[1], dtype=dz.dtype)
for n in range(dz.shape[0]):
    dW = torch.outer(x[n], dz[n])
    db += dz[n]
return dx, dW, db
