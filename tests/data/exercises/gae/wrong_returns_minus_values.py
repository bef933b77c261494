# mistake: returns-minus-values
# The advantages are right; the value targets subtract the baseline instead of adding it back.
T = args.num_steps
next_vals = torch.cat([values[1:], next_value[None]], dim=0)
next_nonterminal = 1.0 - torch.cat([dones[1:], next_done[None]], dim=0)
deltas = rewards + args.gamma * next_vals * next_nonterminal - values
advantages = torch.zeros_like(rewards)
acc = torch.zeros_like(next_value)
for t in reversed(range(T)):
    acc = deltas[t] + args.gamma * args.gae_lambda * next_nonterminal[t] * acc
    advantages[t] = acc
returns = advantages - values
