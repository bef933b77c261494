# mistake: bias-grad-sum-all
# Everything summed into one number.
dx = dz @ W.T
dW = x.T @ dz
db = dz.sum()
return dx, dW, db
