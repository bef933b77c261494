# mistake: none
# Two mistakes at once (the mask at t, and no bootstrap at the end): no single known mistake gives this.
advantages = torch.zeros_like(rewards)
lastgaelam = 0
for t in reversed(range(args.num_steps)):
    nextnonterminal = 1.0 - dones[t]
    nextvalues = values[t + 1] if t + 1 < args.num_steps else torch.zeros_like(next_value)
    delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
    lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
    advantages[t] = lastgaelam
returns = advantages + values
