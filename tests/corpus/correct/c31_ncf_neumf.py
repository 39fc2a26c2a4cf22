"""guoyang9's NCF (He et al., "Neural Collaborative Filtering"): NeuMF-end, a GMF branch
(element-wise product of user and item embeddings) and an MLP branch (concatenated embeddings
through Dropout/Linear/ReLU towers) joined by one prediction layer that outputs a logit,
trained with ``BCEWithLogitsLoss`` on implicit feedback. The ``NCFData`` dataset holds the
observed (user, item) pairs and draws 4 fresh negatives per positive in ``ng_sample()``
before every epoch (positives first, then negatives: the loader shuffles). Evaluation is
leave-one-out hit ratio @10 against 99 sampled negatives, the paper's protocol, so the loop
logs ``HR`` instead of a validation loss. The interactions are generated from latent tastes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as data

from corpus import Setup

SOURCE = "https://github.com/guoyang9/NCF/blob/master/main.py"


class NCFData(data.Dataset):
    def __init__(self, features, num_item, train_mat=None, num_ng=0, is_training=None, seed=0):
        super().__init__()
        """ Note that the labels are only useful when training, we thus
            add them in the ng_sample() function.
        """
        self.features_ps = features
        self.num_item = num_item
        self.train_mat = train_mat
        self.num_ng = num_ng
        self.is_training = is_training
        self.labels = [0 for _ in range(len(features))]
        self.rng = np.random.RandomState(seed)
        self.features_fill, self.labels_fill = features, self.labels

    def ng_sample(self):
        assert self.is_training, "no need to sampling when testing"
        self.features_ng = []
        for x in self.features_ps:
            u = x[0]
            for t in range(self.num_ng):
                j = self.rng.randint(self.num_item)
                while (u, j) in self.train_mat:
                    j = self.rng.randint(self.num_item)
                self.features_ng.append([u, j])
        labels_ps = [1 for _ in range(len(self.features_ps))]
        labels_ng = [0 for _ in range(len(self.features_ng))]
        self.features_fill = self.features_ps + self.features_ng
        self.labels_fill = labels_ps + labels_ng

    def __len__(self):
        return (self.num_ng + 1) * len(self.labels)

    def __getitem__(self, idx):
        features = self.features_fill if self.is_training else self.features_ps
        labels = self.labels_fill if self.is_training else self.labels
        user = features[idx][0]
        item = features[idx][1]
        label = labels[idx]
        return user, item, float(label)


class NCF(nn.Module):
    def __init__(self, user_num, item_num, factor_num, num_layers, dropout):
        super().__init__()
        self.dropout = dropout
        self.embed_user_GMF = nn.Embedding(user_num, factor_num)
        self.embed_item_GMF = nn.Embedding(item_num, factor_num)
        self.embed_user_MLP = nn.Embedding(user_num, factor_num * (2 ** (num_layers - 1)))
        self.embed_item_MLP = nn.Embedding(item_num, factor_num * (2 ** (num_layers - 1)))

        MLP_modules = []
        for i in range(num_layers):
            input_size = factor_num * (2 ** (num_layers - i))
            MLP_modules.append(nn.Dropout(p=self.dropout))
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
        embed_user_GMF = self.embed_user_GMF(user)
        embed_item_GMF = self.embed_item_GMF(item)
        output_GMF = embed_user_GMF * embed_item_GMF
        embed_user_MLP = self.embed_user_MLP(user)
        embed_item_MLP = self.embed_item_MLP(item)
        interaction = torch.cat((embed_user_MLP, embed_item_MLP), -1)
        output_MLP = self.MLP_layers(interaction)
        concat = torch.cat((output_GMF, output_MLP), -1)
        prediction = self.predict_layer(concat)
        return prediction.view(-1)


def make() -> Setup:
    torch.manual_seed(0)
    rs = np.random.RandomState(0)
    user_num, item_num = 100, 200
    # implicit feedback: each user interacts with the items closest to their taste
    U, V = rs.normal(size=(user_num, 4)), rs.normal(size=(item_num, 4))
    scores = U @ V.T + rs.gumbel(size=(user_num, item_num)) * 0.5
    liked = np.argsort(-scores, axis=1)[:, :12]
    train_data, test_data = [], []
    for u in range(user_num):
        test_data.append([u, int(liked[u, 0])])  # leave one out
        train_data += [[u, int(i)] for i in liked[u, 1:]]
    train_mat = {(u, i) for u, i in train_data}

    train_dataset = NCFData(train_data, item_num, train_mat, num_ng=4, is_training=True)
    train_loader = data.DataLoader(train_dataset, batch_size=256, shuffle=True)

    # 1 test positive + 99 negatives per user
    test_rows = []
    for u, pos in test_data:
        negs = []
        while len(negs) < 99:
            j = int(rs.randint(item_num))
            if (u, j) not in train_mat and j != pos:
                negs.append(j)
        test_rows.append([pos] + negs)
    test_user = torch.arange(user_num).repeat_interleave(100)
    test_item = torch.tensor(test_rows).view(-1)

    model = NCF(user_num, item_num, factor_num=16, num_layers=2, dropout=0.0)
    loss_function = nn.BCEWithLogitsLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.005)

    def metrics(model, top_k=10):
        with torch.no_grad():
            predictions = model(test_user, test_item).view(user_num, 100)
            _, indices = torch.topk(predictions, top_k, dim=1)
        return (indices == 0).any(dim=1).float().mean().item()  # HR@10, positive is column 0

    train_loader.dataset.ng_sample()  # the first epoch's negatives (also what rw.check reads)

    def loop(w):
        for epoch in range(6):
            model.train()  # Enable dropout (if have).
            if epoch > 0:
                train_loader.dataset.ng_sample()
            for user, item, label in train_loader:
                label = label.float()
                model.zero_grad()
                prediction = model(user, item)
                loss = loss_function(prediction, label)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            HR = metrics(model)
            w.log(HR=HR)

    return Setup(
        model=model, data=train_loader, loss_fn=loss_function, optimizer=optimizer, loop=loop
    )
