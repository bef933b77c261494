# mistake: gae-done-index
# Vectorised TD errors; the "not done" mask is taken at t instead of t + 1 (the last step uses next_done).
next_values = torch.cat([values[1:], next_value.unsqueeze(0)])
not_done = torch.cat([1.0 - dones[:-1], (1.0 - next_done).unsqueeze(0)])
deltas = rewards + args.gamma * next_values * not_done - values
advantages = torch.zeros_like(rewards)
running = torch.zeros_like(next_value)
for t in range(args.num_steps - 1, -1, -1):
    running = deltas[t] + args.gamma * args.gae_lambda * not_done[t] * running
    advantages[t] = running
returns = advantages + values
