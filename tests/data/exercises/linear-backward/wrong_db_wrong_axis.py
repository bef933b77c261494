# mistake: bias-grad-wrong-axis
# Summed over the outputs instead of over the batch: one number per example.
dx = dz @ W.T
dW = x.T @ dz
db = dz.sum(dim=1)
return dx, dW, db
