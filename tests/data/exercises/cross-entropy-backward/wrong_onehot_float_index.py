# mistake: ce-grad-no-mean
# A one-hot built with scatter, and the mean forgotten.
onehot = torch.zeros_like(probs).scatter_(1, y.unsqueeze(1), 1.0)
return probs - onehot
