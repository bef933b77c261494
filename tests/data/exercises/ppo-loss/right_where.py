# right: the clip written with torch.where, the squared error as a product
logratio = newlogprob - b_logprobs[mb_inds]
ratio = logratio.exp()
a = b_advantages[mb_inds]
if args.norm_adv:
    a = a - a.mean()
    a = a / (a.std() + 1e-8)
low, high = 1 - args.clip_coef, 1 + args.clip_coef
clipped_ratio = torch.where(ratio < low, torch.full_like(ratio, low), torch.where(ratio > high, torch.full_like(ratio, high), ratio))
pg_loss = torch.maximum(-a * ratio, -a * clipped_ratio).mean()
err = newvalue - b_returns[mb_inds]
v_loss = (err * err).mean() / 2
entropy_loss = entropy.mean()
loss = pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss
