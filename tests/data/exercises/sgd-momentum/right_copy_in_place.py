# right: the new values computed out of place, then copied into the same tensors
for p, g, v in zip(self.params, grads, self.velocities):
    v.copy_(self.momentum * v + g + self.weight_decay * p)
    p.copy_(p - self.lr * v)
