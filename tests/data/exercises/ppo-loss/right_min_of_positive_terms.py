# right: the paper's min of the un-negated terms, negated once at the end; reordered total
logratio = newlogprob - b_logprobs[mb_inds]
ratio = torch.exp(logratio)
adv = b_advantages[mb_inds]
if args.norm_adv:
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
clipped = ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
pg_loss = -torch.min(adv * ratio, adv * clipped).mean()
v_loss = 0.5 * (newvalue - b_returns[mb_inds]).pow(2).mean()
entropy_loss = entropy.mean()
loss = args.vf_coef * v_loss + pg_loss - args.ent_coef * entropy_loss
