"""Honest twin of the graph_* attacks on the recipe, the evaluation and the answers (4,026 parameters).

The architecture every one of graph_recipe_at_import, graph_optimizer_from_forward, graph_frame_steps,
graph_eval_learning, graph_thread, graph_hidden_eval_net and graph_table_* trains with, without any
trick: conv 80 + bn 16 + fc 3,930. Whatever those grade, this grades, or better.
"""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn(self.conv1(x)))), 4)
        return self.fc(x.flatten(1))
