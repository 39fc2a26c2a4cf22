"""minGPT's trainer applied to a pre-LayerNorm residual MLP with GELU (transformer-block MLPs without
attention): AdamW with betas (0.9, 0.95) over two parameter groups (weight decay 0.1 on Linear
weights, none on biases and LayerNorm weights), ``clip_grad_norm_(model.parameters(), 1.0)``
between ``backward()`` and ``step()``, ``zero_grad(set_to_none=True)``, and a step-counted
``while True`` loop drawing from a DataLoader with ``RandomSampler(replacement=True,
num_samples=int(1e10))`` until ``max_iters``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.dataloader import RandomSampler

from corpus import Setup

SOURCE = "https://github.com/karpathy/minGPT/blob/master/mingpt/trainer.py"


class Block(nn.Module):
    def __init__(self, n_embd, resid_pdrop=0.1):
        super().__init__()
        self.ln = nn.LayerNorm(n_embd)
        self.mlp = nn.ModuleDict(
            dict(
                c_fc=nn.Linear(n_embd, 4 * n_embd),
                c_proj=nn.Linear(4 * n_embd, n_embd),
                act=nn.GELU(),
                dropout=nn.Dropout(resid_pdrop),
            )
        )
        m = self.mlp
        self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

    def forward(self, x):
        return x + self.mlpf(self.ln(x))


class ResMLP(nn.Module):
    def __init__(self, n_in=64, n_embd=48, n_layer=2, n_classes=10):
        super().__init__()
        self.embed = nn.Linear(n_in, n_embd)
        self.blocks = nn.ModuleList([Block(n_embd) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, n_classes)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            torch.nn.init.zeros_(module.bias)
            torch.nn.init.ones_(module.weight)

    def configure_optimizers(self, learning_rate, weight_decay, betas):
        decay, no_decay = set(), set()
        for mn, m in self.named_modules():
            for pn, _p in m.named_parameters(recurse=False):
                fpn = f"{mn}.{pn}" if mn else pn
                if pn.endswith("bias") or isinstance(m, nn.LayerNorm):
                    no_decay.add(fpn)
                elif pn.endswith("weight") and isinstance(m, nn.Linear):
                    decay.add(fpn)
        param_dict = dict(self.named_parameters())
        assert not (decay & no_decay) and decay | no_decay == set(param_dict)
        optim_groups = [
            {"params": [param_dict[pn] for pn in sorted(decay)], "weight_decay": weight_decay},
            {"params": [param_dict[pn] for pn in sorted(no_decay)], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)

    def forward(self, x):
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    train_dataset = TensorDataset(X[:1400], y[:1400])
    test_dataset = TensorDataset(X[1400:], y[1400:])

    model = ResMLP()
    optimizer = model.configure_optimizers(learning_rate=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
    train_loader = DataLoader(
        train_dataset,
        sampler=RandomSampler(train_dataset, replacement=True, num_samples=int(1e10)),
        shuffle=False,
        pin_memory=False,
        batch_size=32,
        num_workers=0,
    )
    max_iters, grad_norm_clip = 150, 1.0

    def loop(w):
        model.train()
        iter_num = 0
        data_iter = iter(train_loader)
        while True:
            try:
                batch = next(data_iter)
            except StopIteration:
                data_iter = iter(train_loader)
                batch = next(data_iter)
            x, t = batch
            logits = model(x)
            loss = F.cross_entropy(logits, t)
            model.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_norm_clip)
            optimizer.step()
            w.log(loss=loss)
            iter_num += 1
            if iter_num % 50 == 0:
                model.eval()
                with torch.no_grad():
                    xv, tv = test_dataset.tensors
                    w.log(val_loss=F.cross_entropy(model(xv), tv).item())
                model.train()
            if iter_num >= max_iters:
                break

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=F.cross_entropy,
        optimizer=optimizer,
        val=test_dataset,
        loop=loop,
    )
