# right: helper functions at module level, torch.nn.functional for the squared error
old = b_logprobs[mb_inds]
logratio, ratio = probability_ratio(newlogprob, old)
advantages_mb = normalised(b_advantages[mb_inds]) if args.norm_adv else b_advantages[mb_inds]
pg_loss = clipped_surrogate_loss(ratio, advantages_mb, args.clip_coef)
v_loss = 0.5 * nn.functional.mse_loss(newvalue, b_returns[mb_inds])
entropy_loss = entropy.mean()
loss = pg_loss + v_loss * args.vf_coef - entropy_loss * args.ent_coef
# --- module ---
def probability_ratio(new_logprob, old_logprob):
    log_r = new_logprob - old_logprob
    return log_r, log_r.exp()


def normalised(x, eps=1e-8):
    return (x - x.mean()) / (x.std() + eps)


def clipped_surrogate_loss(ratio, advantages, clip):
    """Negated clipped surrogate (eq. 7 of Schulman et al. 2017): we minimise it."""
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * advantages
    return -torch.minimum(unclipped, clipped).mean()
