# right: a helper at module level, with its own names; the block only calls it
advantages, returns = generalised_advantages(rewards, values, dones, next_value, next_done,
                                             gamma=args.gamma, lam=args.gae_lambda)
# --- module ---
def generalised_advantages(r, v, d, v_last, d_last, gamma, lam):
    """GAE (Schulman et al. 2016, eq. 16) over a [T, N] rollout."""
    T = r.shape[0]
    adv = torch.zeros_like(r)
    a_next = torch.zeros_like(v_last)
    for t in reversed(range(T)):
        alive = 1.0 - (d_last if t == T - 1 else d[t + 1])
        v_next = v_last if t == T - 1 else v[t + 1]
        a_next = r[t] + gamma * alive * (v_next + lam * a_next) - v[t]
        adv[t] = a_next
    return adv, adv + v
