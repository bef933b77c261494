# mistake: ratio-no-exp
# The log-ratio used as the ratio itself.
logratio = newlogprob - b_logprobs[mb_inds]
ratio = logratio
adv = b_advantages[mb_inds]
if args.norm_adv:
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
v_loss = 0.5 * (newvalue - b_returns[mb_inds]).pow(2).mean()
entropy_loss = entropy.mean()
loss = pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss
