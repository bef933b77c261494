"""A multilayer perceptron with its forward AND backward pass written by hand.

No autograd: every local derivative sits next to the forward op it belongs to, and
MLP.backward applies the chain rule layer by layer, from the loss back to the input.
Shapes: N examples, D_in inputs, D_out outputs of a layer, C classes (one output for regression).
"""
import math

import torch


# ----- linear layer: z = x W + b ----------------------------------------------------------
def linear_forward(x, W, b):
    return x @ W + b                      # [N, D_in] @ [D_in, D_out] + [D_out] -> [N, D_out]


def linear_backward(dz, x, W):
    """Given dL/dz, return dL/dx, dL/dW, dL/db."""
    dx = dz @ W.T                         # dz/dx = W       -> [N, D_out] @ [D_out, D_in]
    dW = x.T @ dz                         # dz/dW = x       -> sum over the batch of outer products
    db = dz.sum(dim=0)                    # dz/db = 1       -> the bias is shared by every example
    return dx, dW, db


# ----- ReLU: a = max(z, 0) ------------------------------------------------------------------
def relu_forward(z):
    return z.clamp(min=0)


def relu_backward(da, z):
    return da * (z > 0)                   # da/dz = 1 where z > 0, else 0: the gradient is gated


# ----- softmax cross-entropy: L = -1/N sum_i log softmax(z_i)[y_i] ------------------------
def softmax_cross_entropy(logits, y):
    """Mean cross-entropy loss and the class probabilities (kept for the backward pass)."""
    shifted = logits - logits.max(dim=1, keepdim=True).values   # same softmax, no overflow in exp
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    loss = -log_probs[torch.arange(len(y)), y].mean()
    return loss, log_probs.exp()


def softmax_cross_entropy_backward(probs, y):
    """dL/dlogits = (softmax(z) - onehot(y)) / N: the famous 'prediction minus target'."""
    dlogits = probs.clone()
    dlogits[torch.arange(len(y)), y] -= 1.0
    return dlogits / len(y)


# ----- squared error (regression): L = 1/(2N) sum_i (yhat_i - y_i)^2 -------------------------
# For a number to predict, the network has ONE output per example, yhat = outputs[:, 0].
def squared_error(outputs, y):
    """Half the mean squared error. The 1/2 is there so that its gradient has no factor 2."""
    errors = outputs[:, 0] - y                                  # [N, 1] -> [N]
    return 0.5 * (errors ** 2).mean()


def squared_error_backward(outputs, y):
    """dL/doutputs = (yhat - y) / N: prediction minus target again, as for softmax cross-entropy."""
    doutputs = torch.zeros_like(outputs)
    doutputs[:, 0] = (outputs[:, 0] - y) / len(y)
    return doutputs


# ----- the network ----------------------------------------------------------------------------
class MLP:
    """Linear -> ReLU -> ... -> Linear, with the parameters as plain tensors."""

    def __init__(self, sizes, seed=0, dtype=torch.float32):
        g = torch.Generator().manual_seed(seed)
        self.weights, self.biases = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            # He initialisation (He et al. 2015): variance 2 / fan_in keeps ReLU activations' scale
            self.weights.append(torch.randn(fan_in, fan_out, generator=g, dtype=dtype) * math.sqrt(2.0 / fan_in))
            self.biases.append(torch.zeros(fan_out, dtype=dtype))

    def parameters(self):
        return self.weights + self.biases

    def forward(self, x):
        """Return the logits and the cache of every layer's input and pre-activation."""
        cache = []
        a = x
        last = len(self.weights) - 1
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = linear_forward(a, W, b)
            cache.append((a, z))
            a = z if layer == last else relu_forward(z)
        return a, cache

    def backward(self, dlogits, cache):
        """Chain rule from dL/dlogits back through every layer; returns (dWs, dbs, dL/dx)."""
        dWs = [None] * len(self.weights)
        dbs = [None] * len(self.biases)
        last = len(self.weights) - 1
        grad = dlogits                                    # dL/d(output of the current layer)
        for layer in reversed(range(len(self.weights))):
            a_in, z = cache[layer]
            dz = grad if layer == last else relu_backward(grad, z)   # through the nonlinearity
            grad, dWs[layer], dbs[layer] = linear_backward(dz, a_in, self.weights[layer])
        return dWs, dbs, grad

    def predict(self, x):
        return self.forward(x)[0].argmax(dim=1)


class SGD:
    """Stochastic gradient descent with momentum (Polyak 1964) and L2 weight decay.

    v <- mu v + (g + wd w);   w <- w - lr v
    """

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0):
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.velocities = [torch.zeros_like(p) for p in params]

    def step(self, grads):
        for p, g, v in zip(self.params, grads, self.velocities):
            v.mul_(self.momentum).add_(g + self.weight_decay * p)
            p.sub_(self.lr * v)                            # in place: the model sees the new values
