# right: TD errors for the whole rollout at once, then the backward recursion over them
next_values = torch.cat([values[1:], next_value.unsqueeze(0)], dim=0)
next_nonterminal = 1.0 - torch.cat([dones[1:], next_done.unsqueeze(0)], dim=0)
deltas = rewards + args.gamma * next_values * next_nonterminal - values
advantages = torch.empty_like(rewards)
running = torch.zeros_like(next_value)
for t in range(args.num_steps - 1, -1, -1):
    running = deltas[t] + args.gamma * args.gae_lambda * next_nonterminal[t] * running
    advantages[t] = running
returns = values + advantages
