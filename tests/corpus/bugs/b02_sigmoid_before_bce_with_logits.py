"""A point-wise NeuMF recommender (GMF and MLP towers over user/item embeddings, daisyRec style)
trained on (user, item, label) implicit-feedback triples with ``nn.BCEWithLogitsLoss``, while
``forward`` already returns ``torch.sigmoid(prediction)``. The pull request that fixed it says
the loss does not converge otherwise: the loss applies a second sigmoid, so every prediction it
sees lies in (0.5, 0.73) and the loss cannot drop far below log 2. Nothing errors. The fix is to
return the raw score and apply the sigmoid only when ranking."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as data

from corpus import Expect, Setup

SOURCE = "https://github.com/yudi-mars/daisyRec/pull/15"
EXPECT = Expect("loss_at_init", says=r"sigmoid")


class PointData(data.Dataset):
    def __init__(self, features, labels):
        super().__init__()
        self.features = features
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        user = self.features[idx][0]
        item = self.features[idx][1]
        label = self.labels[idx]
        return user, item, label


class PointNeuMF(nn.Module):
    def __init__(self, user_num, item_num, factor_num, num_layers, dropout, fixed):
        super().__init__()
        self.fixed = fixed
        self.embed_user_GMF = nn.Embedding(user_num, factor_num)
        self.embed_item_GMF = nn.Embedding(item_num, factor_num)
        self.embed_user_MLP = nn.Embedding(user_num, factor_num * (2 ** (num_layers - 1)))
        self.embed_item_MLP = nn.Embedding(item_num, factor_num * (2 ** (num_layers - 1)))

        MLP_modules = []
        for i in range(num_layers):
            input_size = factor_num * (2 ** (num_layers - i))
            MLP_modules.append(nn.Dropout(p=dropout))
            MLP_modules.append(nn.Linear(input_size, input_size // 2))
            MLP_modules.append(nn.ReLU())
        self.MLP_layers = nn.Sequential(*MLP_modules)
        self.predict_layer = nn.Linear(factor_num * 2, 1)
        self._init_weight_()

    def _init_weight_(self):
        nn.init.normal_(self.embed_user_GMF.weight, std=0.01)
        nn.init.normal_(self.embed_user_MLP.weight, std=0.01)
        nn.init.normal_(self.embed_item_GMF.weight, std=0.01)
        nn.init.normal_(self.embed_item_MLP.weight, std=0.01)
        for m in self.MLP_layers:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
        nn.init.kaiming_uniform_(self.predict_layer.weight, a=1, nonlinearity="sigmoid")
        for m in self.modules():
            if isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.data.zero_()

    def forward(self, user, item):
        output_GMF = self.embed_user_GMF(user) * self.embed_item_GMF(item)
        interaction = torch.cat((self.embed_user_MLP(user), self.embed_item_MLP(item)), -1)
        output_MLP = self.MLP_layers(interaction)
        concat = torch.cat((output_GMF, output_MLP), -1)
        prediction = self.predict_layer(concat)
        if self.fixed:
            return prediction.view(-1)
        return torch.sigmoid(prediction.view(-1))


def make(fixed: bool) -> Setup:
    np.random.seed(2023)
    torch.manual_seed(2023)
    user_num, item_num = 120, 80
    # implicit feedback from a hidden low-rank preference, negatives sampled among the rest
    pu, qi = np.random.randn(user_num, 3), np.random.randn(item_num, 3)
    liked = (pu @ qi.T) > 0.8
    users, items = np.random.randint(0, user_num, 4000), np.random.randint(0, item_num, 4000)
    labels = liked[users, items].astype(np.float32)
    features = np.stack([users, items], 1)
    train_set = PointData(torch.tensor(features[:3200]), torch.tensor(labels[:3200]))
    test_set = PointData(torch.tensor(features[3200:]), torch.tensor(labels[3200:]))
    train_loader = data.DataLoader(train_set, batch_size=128, shuffle=True)
    test_loader = data.DataLoader(test_set, batch_size=256, shuffle=False)

    model = PointNeuMF(user_num, item_num, factor_num=8, num_layers=2, dropout=0.0, fixed=fixed)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.BCEWithLogitsLoss()

    def loop(w):
        for _epoch in range(6):
            model.train()
            for user, item, label in train_loader:
                model.zero_grad()
                prediction = model(user, item)
                loss = criterion(prediction, label)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val = sum(criterion(model(u, i), lb).item() * len(lb) for u, i, lb in test_loader)
            w.log(val_loss=val / len(test_set))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
    )
