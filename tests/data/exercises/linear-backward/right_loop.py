# right: one example at a time, accumulating outer products (slow, but the definition itself)
dW = torch.zeros_like(W)
db = torch.zeros(W.shape[1], dtype=dz.dtype)
rows = []
for n in range(x.shape[0]):
    dW += torch.outer(x[n], dz[n])
    db += dz[n]
    rows.append(W @ dz[n])
dx = torch.stack(rows)
return dx, dW, db
