# mistake: transpose-wrong-operand
# The transpose on dz instead of W (runs only when shapes happen to line up).
dx = dz.T @ W
dW = x.T @ dz
db = dz.sum(dim=0)
return dx, dW, db
