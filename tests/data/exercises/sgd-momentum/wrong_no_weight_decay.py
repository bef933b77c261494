# mistake: weight-decay-ignored
# The weight-decay term is left out.
for p, g, v in zip(self.params, grads, self.velocities):
    v.mul_(self.momentum).add_(g)
    p.sub_(self.lr * v)
