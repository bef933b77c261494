# mistake: weight-grad-transposed
# dz.T @ x gives dW transposed ([D_out, D_in]): right numbers, wrong layout.
dx = dz @ W.T
dW = dz.T @ x
db = dz.sum(dim=0)
return dx, dW, db
