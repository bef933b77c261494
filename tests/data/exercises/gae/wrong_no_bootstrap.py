# mistake: gae-no-bootstrap
# The rollout's end is treated as the end of the episode: nothing is bootstrapped from V(s_T).
advantages = torch.zeros_like(rewards)
lastgaelam = 0
for t in reversed(range(args.num_steps)):
    if t == args.num_steps - 1:
        nextnonterminal = 1.0 - next_done
        nextvalues = 0.0
    else:
        nextnonterminal = 1.0 - dones[t + 1]
        nextvalues = values[t + 1]
    delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
    lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
    advantages[t] = lastgaelam
returns = advantages + values
