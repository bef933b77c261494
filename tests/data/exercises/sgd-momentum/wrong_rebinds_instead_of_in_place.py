# mistake: none
# The new parameter and velocity are stored in the lists, but the model holds the old tensors: nothing learns.
for i, (p, g, v) in enumerate(zip(self.params, grads, self.velocities)):
    v_new = self.momentum * v + g + self.weight_decay * p
    self.velocities[i] = v_new
    self.params[i] = p - self.lr * v_new
