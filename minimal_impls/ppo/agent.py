"""The actor-critic network and the greedy evaluation loop shared by train.py and eval.py."""
import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions.categorical import Categorical


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    # Orthogonal init with gain sqrt(2) for hidden layers, as in the PPO reference code.
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    """Two separate MLPs: the critic V(s) and the actor pi(a|s) (logits of a categorical)."""

    def __init__(self, obs_dim, n_actions, hidden=64):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_dim, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)),
            nn.Tanh(),
            # A small last layer makes the first policy close to uniform.
            layer_init(nn.Linear(hidden, n_actions), std=0.01),
        )

    def get_value(self, obs):
        return self.critic(obs).squeeze(-1)

    def get_action_and_value(self, obs, action=None):
        logits = self.actor(obs)
        dist = Categorical(logits=logits)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.get_value(obs)

    def greedy_action(self, obs):
        return self.actor(obs).argmax(dim=-1)


@torch.no_grad()
def evaluate(agent, env_id, episodes, seed):
    """Run `episodes` greedy episodes in parallel; return the list of episodic returns."""
    envs = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="sync")
    obs, _ = envs.reset(seed=seed)
    episode_returns = np.zeros(episodes)
    finished = np.zeros(episodes, dtype=bool)
    while not finished.all():
        action = agent.greedy_action(torch.as_tensor(obs, dtype=torch.float32))
        obs, reward, terminated, truncated, _ = envs.step(action.numpy())
        episode_returns += reward * ~finished  # each env counts only its first episode
        finished |= terminated | truncated
    envs.close()
    return episode_returns.tolist()
