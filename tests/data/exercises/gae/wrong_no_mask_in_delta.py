# mistake: gae-no-done-mask
# The bootstrap value is added even when the episode ended: V of the next episode's first state leaks in.
advantages = torch.zeros_like(rewards)
gae = torch.zeros(rewards.shape[1])
for t in reversed(range(args.num_steps)):
    last = t == args.num_steps - 1
    v_next = next_value if last else values[t + 1]
    mask = 1.0 - (next_done if last else dones[t + 1])
    td = rewards[t] + args.gamma * v_next - values[t]
    gae = td + args.gamma * args.gae_lambda * mask * gae
    advantages[t] = gae
returns = advantages + values
