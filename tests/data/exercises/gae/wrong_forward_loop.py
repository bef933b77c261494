# mistake: gae-loop-forward
# The loop runs forwards, so each step carries the advantage of the step before it, not after it.
advantages = torch.zeros_like(rewards)
lastgaelam = 0
for t in range(args.num_steps):
    if t == args.num_steps - 1:
        nextnonterminal = 1.0 - next_done
        nextvalues = next_value
    else:
        nextnonterminal = 1.0 - dones[t + 1]
        nextvalues = values[t + 1]
    delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
    lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
    advantages[t] = lastgaelam
returns = advantages + values
