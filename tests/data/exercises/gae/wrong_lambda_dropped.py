# mistake: gae-lambda-dropped
# Only gamma in the recursion: that is lambda = 1, the Monte-Carlo advantage.
gamma = args.gamma
advantages = torch.zeros_like(rewards)
carry = 0.0
for t in reversed(range(args.num_steps)):
    if t == args.num_steps - 1:
        nonterminal, v_next = 1.0 - next_done, next_value
    else:
        nonterminal, v_next = 1.0 - dones[t + 1], values[t + 1]
    delta = rewards[t] + gamma * v_next * nonterminal - values[t]
    carry = delta + gamma * nonterminal * carry
    advantages[t] = carry
returns = advantages + values
