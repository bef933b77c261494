# mistake: loss-negated
# The paper's objective written as is, min(r A, clip(r) A), and minimised: the policy is pushed away from good actions.
logratio = newlogprob - b_logprobs[mb_inds]
ratio = torch.exp(logratio)
adv = b_advantages[mb_inds]
if args.norm_adv:
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
surrogate = torch.min(ratio * adv, torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef) * adv)
pg_loss = surrogate.mean()
v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()
entropy_loss = entropy.mean()
loss = pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss
