"""Kipf's ``pygcn``: a two-layer Graph Convolutional Network written in plain torch
(``GraphConvolution``: ``support = input @ weight; output = adj @ support + bias``, uniform
init in +-1/sqrt(out_features)), ``relu -> dropout -> gc2 -> log_softmax``, the adjacency with
self-loops row-normalised, and full-batch training: ``F.nll_loss(output[idx_train],
labels[idx_train])``, Adam lr 0.01 with weight decay 5e-4, validation loss on ``idx_val``. The
graph is generated (a 4-community stochastic block model with noisy bag-of-words features). The
whole graph is one batch (``DataLoader(..., batch_size=None)``) and the loss indexes the train
mask, as in ``train(epoch)``."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from corpus import Setup

SOURCE = "https://github.com/tkipf/pygcn/blob/master/pygcn/train.py"


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
        self.bias = nn.Parameter(torch.FloatTensor(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)
        if self.bias is not None:
            self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        output = torch.mm(adj, support)
        return output + self.bias if self.bias is not None else output


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        x = self.gc2(x, adj)
        return F.log_softmax(x, dim=1)


def normalize(mx):
    rowsum = mx.sum(1, keepdim=True)
    return mx / rowsum


def generate_graph(n_nodes, n_classes, n_feat, g):
    labels = torch.randint(0, n_classes, (n_nodes,), generator=g)
    same = labels[:, None] == labels[None, :]
    p = torch.where(same, torch.tensor(0.05), torch.tensor(0.004))
    a = (torch.rand(n_nodes, n_nodes, generator=g) < p).float().triu(1)
    adj = a + a.t()
    words = torch.rand(n_classes, n_feat, generator=g) < 0.08
    feats = (torch.rand(n_nodes, n_feat, generator=g) < 0.03).float()
    feats = torch.maximum(
        feats, (words[labels] & (torch.rand(n_nodes, n_feat, generator=g) < 0.3)).float()
    )
    features = normalize(feats + 1e-9)
    adj = normalize(adj + torch.eye(n_nodes))
    return features, adj, labels


class OneGraph(Dataset):
    def __init__(self, features, adj, labels):
        self.item = ((features, adj), labels)

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return self.item


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    features, adj, labels = generate_graph(600, 4, 200, g)
    idx_train, idx_val = torch.arange(0, 140), torch.arange(200, 500)
    model = GCN(nfeat=features.shape[1], nhid=16, nclass=int(labels.max()) + 1, dropout=0.5)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    graph = DataLoader(OneGraph(features, adj, labels), batch_size=None)

    def train_loss(output, labels):
        return F.nll_loss(output[idx_train], labels[idx_train])

    def train(w, epoch):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        w.log(loss=loss_train)
        model.eval()
        with torch.no_grad():
            output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        w.log(val_loss=loss_val)

    def loop(w):
        for epoch in range(200):
            train(w, epoch)

    return Setup(model=model, data=graph, loss_fn=train_loss, optimizer=optimizer, loop=loop)
