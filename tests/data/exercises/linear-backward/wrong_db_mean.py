# mistake: bias-grad-mean
# The bias gradient averaged over the batch, but dz is already divided by N (the loss is a mean).
grad_input = torch.matmul(dz, W.t())
grad_weight = torch.matmul(x.t(), dz)
grad_bias = dz.mean(dim=0)
return grad_input, grad_weight, grad_bias
