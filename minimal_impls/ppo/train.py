"""Proximal Policy Optimization (Schulman et al. 2017) on CartPole-v1, in one file.

Read it top to bottom: arguments, env setup, the rollout, GAE, then the clipped update.
Run:  python minimal_impls/ppo/train.py --seed 1
"""
import argparse
import csv
import json
import os
import random
import time
from collections import deque
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn, optim

from agent import Agent, evaluate


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seed", type=int, default=1, help="seed of python, numpy, torch and the envs")
    p.add_argument("--env-id", default="CartPole-v1", help="gymnasium environment with discrete actions")
    p.add_argument("--total-timesteps", type=int, default=100_000, help="env steps to train for, over all envs")
    p.add_argument("--learning-rate", type=float, default=2.5e-3, help="Adam step size, decayed linearly to 0")
    p.add_argument("--num-envs", type=int, default=8, help="environments stepped in parallel")
    p.add_argument("--num-steps", type=int, default=32, help="steps per env in one rollout")
    p.add_argument("--gamma", type=float, default=0.99, help="discount factor")
    p.add_argument("--gae-lambda", type=float, default=0.8, help="lambda of generalised advantage estimation")
    p.add_argument("--num-minibatches", type=int, default=4, help="minibatches per epoch")
    p.add_argument("--update-epochs", type=int, default=10, help="passes over each rollout")
    p.add_argument("--clip-coef", type=float, default=0.2, help="epsilon of the clipped surrogate objective")
    p.add_argument("--ent-coef", type=float, default=0.0, help="weight of the entropy bonus")
    p.add_argument("--vf-coef", type=float, default=0.5, help="weight of the value loss")
    p.add_argument("--max-grad-norm", type=float, default=0.5, help="global gradient-norm clip")
    p.add_argument("--no-norm-adv", dest="norm_adv", action="store_false", help="do not normalise advantages")
    p.add_argument("--hidden", type=int, default=64, help="width of the hidden layers")
    p.add_argument("--eval-every", type=int, default=0, help="greedy-evaluate every N iterations (0: never)")
    p.add_argument("--eval-episodes", type=int, default=10, help="episodes per greedy evaluation")
    p.add_argument("--stop-at-return", type=float, default=None, help="stop once a greedy evaluation reaches this")
    p.add_argument("--threads", type=int, default=1, help="torch threads; tiny networks run fastest on one")
    p.add_argument("--log-every", type=int, default=10, help="print a progress line every N iterations")
    p.add_argument("--out-dir", default="runs/ppo", help="where agent.pt and metrics.csv are written")
    args = p.parse_args(argv)
    args.batch_size = args.num_envs * args.num_steps
    args.minibatch_size = args.batch_size // args.num_minibatches
    args.num_iterations = args.total_timesteps // args.batch_size
    if args.num_iterations < 1:
        p.error(f"--total-timesteps {args.total_timesteps} is below one rollout ({args.batch_size} steps)")
    return args


def main(argv=None):
    args = parse_args(argv)

    # seeding: the same seed gives the same run, number for number
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    # env setup: SAME_STEP autoreset returns the first observation of the next episode
    # in the same step() call that ended the previous one
    envs = gym.make_vec(
        args.env_id, num_envs=args.num_envs, vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )
    obs_dim = int(envs.single_observation_space.shape[0])
    n_actions = int(envs.single_action_space.n)
    agent = Agent(obs_dim, n_actions, args.hidden)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # storage for one rollout: [num_steps, num_envs]
    obs = torch.zeros((args.num_steps, args.num_envs, obs_dim))
    actions = torch.zeros((args.num_steps, args.num_envs), dtype=torch.long)
    logprobs = torch.zeros((args.num_steps, args.num_envs))
    rewards = torch.zeros((args.num_steps, args.num_envs))
    dones = torch.zeros((args.num_steps, args.num_envs))
    values = torch.zeros((args.num_steps, args.num_envs))

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_file = open(out_dir / "metrics.csv", "w", newline="")
    metrics = csv.writer(metrics_file)
    metrics.writerow(["iteration", "global_step", "episodic_return", "eval_return", "pg_loss",
                      "v_loss", "entropy", "approx_kl", "clipfrac", "seconds"])

    global_step = 0
    start_time = time.time()
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs = torch.as_tensor(next_obs, dtype=torch.float32)
    next_done = torch.zeros(args.num_envs)
    running_return = np.zeros(args.num_envs)
    recent_returns = deque(maxlen=20)  # returns of the last 20 finished episodes

    for iteration in range(1, args.num_iterations + 1):
        # anneal the learning rate linearly from its initial value to 0
        frac = 1.0 - (iteration - 1.0) / args.num_iterations
        optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        # rollout: act in the envs with the current policy, remembering what we need for the update
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
            values[step] = value
            actions[step] = action
            logprobs[step] = logprob

            next_obs, reward, terminations, truncations, info = envs.step(action.numpy())
            running_return += reward
            episode_over = np.logical_or(terminations, truncations)
            for env_index in np.flatnonzero(episode_over):
                recent_returns.append(running_return[env_index])
                running_return[env_index] = 0.0
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = torch.as_tensor(next_obs, dtype=torch.float32)
            next_done = torch.as_tensor(episode_over, dtype=torch.float32)

        # bootstrap value if not done: V(s_T) stands in for the rewards after the rollout
        with torch.no_grad():
            next_value = agent.get_value(next_obs)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                # TD error, eq. 9 of Schulman et al. 2016: delta_t = r_t + gamma V(s_{t+1}) - V(s_t)
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                # GAE, eq. 16 of Schulman et al. 2016: A_t = delta_t + gamma lambda A_{t+1}
                lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                advantages[t] = lastgaelam
            # the value target: A_t + V(s_t) is the lambda-return
            returns = advantages + values

        # flatten the batch: [num_steps, num_envs] -> [batch_size]
        b_obs = obs.reshape((-1, obs_dim))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)

        # optimise the policy and value network for several epochs of minibatches
        b_inds = np.arange(args.batch_size)
        clipfracs = []
        for epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, args.batch_size, args.minibatch_size):
                mb_inds = b_inds[start:start + args.minibatch_size]

                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                # probability ratio r_t(theta) = pi_theta(a|s) / pi_theta_old(a|s), eq. 6 of Schulman et al. 2017
                ratio = logratio.exp()

                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                # clipped surrogate objective, eq. 7 of Schulman et al. 2017 (negated: we minimise)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                # value loss: squared error to the lambda-return
                v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()

                # entropy bonus keeps the policy exploring; total loss, eq. 9 of Schulman et al. 2017
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef

                # diagnostics: how far the policy moved, and how often the ratio was clipped
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()  # low-variance KL estimator (Schulman 2020)
                    clipfracs.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        # logging: one metrics row per iteration, a progress line every --log-every iterations
        seconds = time.time() - start_time
        episodic_return = float(np.mean(recent_returns)) if recent_returns else float("nan")
        eval_return = float("nan")
        if args.eval_every and iteration % args.eval_every == 0:
            eval_return = float(np.mean(evaluate(agent, args.env_id, args.eval_episodes, seed=10_000 + iteration)))
        metrics.writerow([iteration, global_step, f"{episodic_return:.2f}", f"{eval_return:.2f}",
                          f"{pg_loss.item():.5f}", f"{v_loss.item():.5f}", f"{entropy_loss.item():.5f}",
                          f"{approx_kl.item():.5f}", f"{np.mean(clipfracs):.4f}", f"{seconds:.2f}"])
        if iteration % args.log_every == 0 or iteration == args.num_iterations:
            line = (f"iter {iteration}/{args.num_iterations}  step {global_step}  "
                    f"return {episodic_return:6.1f}  {int(global_step / seconds)} steps/s")
            if eval_return == eval_return:  # not NaN
                line += f"  eval {eval_return:.1f}"
            print(line, flush=True)
            metrics_file.flush()
        if args.stop_at_return is not None and eval_return >= args.stop_at_return:
            print(f"solved: greedy return {eval_return:.1f} at step {global_step}", flush=True)
            break

    # checkpoint: the weights and the arguments needed to rebuild the network
    checkpoint = {"model": agent.state_dict(), "args": vars(args), "obs_dim": obs_dim, "n_actions": n_actions}
    tmp_path = out_dir / "agent.pt.tmp"
    torch.save(checkpoint, tmp_path)
    os.replace(tmp_path, out_dir / "agent.pt")
    metrics_file.close()
    summary = {"global_step": global_step, "seconds": round(time.time() - start_time, 2), "eval_return": eval_return}
    (out_dir / "summary.json").write_text(json.dumps(summary) + "\n")
    envs.close()
    print(f"saved {out_dir / 'agent.pt'}")


if __name__ == "__main__":
    main()
