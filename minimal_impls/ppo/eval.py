"""Load a PPO checkpoint and run greedy episodes: the action with the highest probability.

Run:  python minimal_impls/ppo/eval.py runs/ppo/agent.pt --episodes 10
"""
import argparse
import json
import sys

import numpy as np
import torch

from agent import Agent, evaluate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", nargs="?", default="runs/ppo/agent.pt", help="agent.pt written by train.py")
    p.add_argument("--episodes", type=int, default=10, help="greedy episodes to run")
    p.add_argument("--seed", type=int, default=12345, help="seed of the evaluation envs")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = p.parse_args(argv)

    try:
        checkpoint = torch.load(args.checkpoint, weights_only=True)
    except FileNotFoundError:
        sys.exit(f"error: no checkpoint at {args.checkpoint}; train first: python minimal_impls/ppo/train.py")
    except Exception as exc:  # truncated or foreign file
        sys.exit(f"error: {args.checkpoint} is not a PPO checkpoint written by train.py ({exc.__class__.__name__})")
    train_args = checkpoint["args"]
    agent = Agent(checkpoint["obs_dim"], checkpoint["n_actions"], train_args["hidden"])
    agent.load_state_dict(checkpoint["model"])
    agent.eval()

    episode_returns = evaluate(agent, train_args["env_id"], args.episodes, seed=args.seed)
    mean_return, std_return = float(np.mean(episode_returns)), float(np.std(episode_returns))
    if args.json:
        print(json.dumps({"episodes": args.episodes, "mean_return": mean_return, "std_return": std_return,
                          "returns": episode_returns}))
    else:
        print(f"{train_args['env_id']}: greedy return {mean_return:.1f} ± {std_return:.1f} over {args.episodes} episodes")
    return mean_return


if __name__ == "__main__":
    main()
