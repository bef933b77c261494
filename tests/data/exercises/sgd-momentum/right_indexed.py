# right: by index, with torch.add's alpha
for i in range(len(self.params)):
    v = self.velocities[i]
    v.mul_(self.momentum)
    v.add_(grads[i]).add_(self.params[i], alpha=self.weight_decay)
    self.params[i].add_(v, alpha=-self.lr)
