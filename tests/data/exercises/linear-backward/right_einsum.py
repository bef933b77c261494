# right: index notation with einsum
dx = torch.einsum("no,io->ni", dz, W)
dW = torch.einsum("ni,no->io", x, dz)
db = torch.einsum("no->o", dz)
return dx, dW, db
