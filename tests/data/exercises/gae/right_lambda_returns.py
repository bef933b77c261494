# right: the lambda-return recursion first, G_t = r_t + gamma (1 - done) ((1 - lambda) V_{t+1} + lambda G_{t+1}),
# then the advantages as returns minus values
returns = torch.zeros_like(rewards)
g = next_value
v_next = next_value
for t in reversed(range(args.num_steps)):
    alive = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
    g = rewards[t] + args.gamma * alive * ((1 - args.gae_lambda) * v_next + args.gae_lambda * g)
    returns[t] = g
    v_next = values[t]
advantages = returns - values
