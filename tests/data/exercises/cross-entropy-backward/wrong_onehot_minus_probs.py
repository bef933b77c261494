# mistake: ce-grad-negated
# onehot - probs: the gradient's sign flipped everywhere (the negative gradient, as in a score function).
onehot = torch.zeros_like(probs)
onehot[torch.arange(len(y)), y] = 1.0
return (onehot - probs) / len(y)
