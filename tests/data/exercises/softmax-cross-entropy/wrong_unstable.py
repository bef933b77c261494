# mistake: none
# No max subtracted: exp overflows for large logits (inf / inf = nan).
probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
loss = -probs[torch.arange(len(y)), y].log().mean()
return loss, probs
