"""PyTorch's "Language Modeling with nn.Transformer" tutorial: a word-level LM built from
``nn.TransformerEncoder`` with sinusoidal ``PositionalEncoding``, embeddings scaled by
sqrt(d_model), a square subsequent mask from ``nn.Transformer.generate_square_subsequent_mask``
built inside ``forward``, ``batchify``-ed token streams cut into ``bptt`` chunks by
``get_batch``, SGD at lr 5.0 with ``clip_grad_norm_(0.5)`` and ``StepLR(1.0, gamma=0.95)``
stepped once per epoch, and ``train()`` / ``evaluate()`` functions keeping the best model. The
layout is batch-first here (rows of the batchified stream along dim 0) and the corpus is
generated from a small grammar instead of WikiText-2; the user declares the model causal and
hands the epoch schedule to ``rw.check``."""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/beginner/transformer_tutorial.html"


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: Tensor) -> Tensor:
        """x: Tensor, shape ``[batch_size, seq_len, embedding_dim]``"""
        x = x + self.pe[:, : x.size(1)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(
        self, ntoken: int, d_model: int, nhead: int, d_hid: int, nlayers: int, dropout: float = 0.5
    ):
        super().__init__()
        self.model_type = "Transformer"
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = nn.TransformerEncoderLayer(
            d_model, nhead, d_hid, dropout, batch_first=True
        )
        self.transformer_encoder = nn.TransformerEncoder(
            encoder_layers, nlayers, enable_nested_tensor=False
        )
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)
        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        """src: ``[batch_size, seq_len]`` -> output ``[batch_size, seq_len, ntoken]``"""
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            # generate a square causal mask for the sequence: the masked positions are filled
            # with float('-inf'), unmasked positions with float(0.0)
            src_mask = nn.Transformer.generate_square_subsequent_mask(src.size(1)).to(src.device)
        output = self.transformer_encoder(src, src_mask)
        return self.linear(output)


def make_corpus(n_sentences: int, g: torch.Generator) -> list[str]:
    det = ["the", "a", "every", "some"]
    adj = ["big", "small", "red", "old", "quiet"]
    noun = ["dog", "river", "house", "child", "tree", "car", "song"]
    verb = ["sees", "likes", "follows", "hears", "paints"]
    words: list[str] = []
    for _ in range(n_sentences):
        r = torch.randint(0, 100, (6,), generator=g).tolist()
        sent = [det[r[0] % 4]]
        if r[1] < 50:
            sent.append(adj[r[2] % 5])
        sent += [noun[r[3] % 7], verb[r[4] % 5], det[r[5] % 4], noun[(r[3] + r[4]) % 7], "<eos>"]
        words += sent
    return words


def batchify(data: Tensor, bsz: int) -> Tensor:
    """Divides the data into ``bsz`` separate sequences, one per row (batch-first)."""
    seq_len = data.size(0) // bsz
    data = data[: seq_len * bsz]
    return data.view(bsz, seq_len).contiguous()


bptt = 16


def get_batch(source: Tensor, i: int) -> tuple[Tensor, Tensor]:
    seq_len = min(bptt, source.size(1) - 1 - i)
    data = source[:, i : i + seq_len]
    target = source[:, i + 1 : i + 1 + seq_len]
    return data, target


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    train_words = make_corpus(700, g)
    val_words = make_corpus(120, g)
    vocab = {w: i for i, w in enumerate(sorted(set(train_words) | set(val_words)))}

    def data_process(words):
        return torch.tensor([vocab[w] for w in words], dtype=torch.long)

    batch_size, eval_batch_size = 20, 10
    train_data = batchify(data_process(train_words), batch_size)  # shape [batch_size, seq_len]
    val_data = batchify(data_process(val_words), eval_batch_size)

    ntokens = len(vocab)  # size of vocabulary
    emsize, d_hid, nlayers, nhead, dropout = 32, 64, 2, 2, 0.2
    model = TransformerModel(ntokens, emsize, nhead, d_hid, nlayers, dropout)

    criterion = nn.CrossEntropyLoss()
    lr = 5.0  # learning rate
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    epochs = 3

    def lm_loss(output, targets):
        return criterion(output.view(-1, ntokens), targets.reshape(-1))

    def train(w) -> None:
        model.train()  # turn on train mode
        total_loss = 0.0
        log_interval = 10
        for batch, i in enumerate(range(0, train_data.size(1) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            output = model(data)
            loss = lm_loss(output, targets)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            w.log(loss=loss)
            total_loss += loss.item()
            if batch % log_interval == 0 and batch > 0:
                total_loss = 0.0

    def evaluate(eval_model: nn.Module, eval_data: Tensor) -> float:
        eval_model.eval()  # turn on evaluation mode
        total_loss = 0.0
        with torch.no_grad():
            for i in range(0, eval_data.size(1) - 1, bptt):
                data, targets = get_batch(eval_data, i)
                seq_len = data.size(1)
                output = eval_model(data)
                total_loss += seq_len * lm_loss(output, targets).item()
        return total_loss / (eval_data.size(1) - 1)

    def loop(w):
        best_val_loss = float("inf")
        best_model = None
        for epoch in range(1, epochs + 1):
            train(w)
            val_loss = evaluate(model, val_data)
            w.log(val_loss=val_loss)
            val_ppl = math.exp(val_loss)
            if val_loss < best_val_loss:
                best_val_loss = val_loss
                best_model = copy.deepcopy(model.state_dict())
            scheduler.step()
        model.load_state_dict(best_model)

    # the user's rw.check data: bptt windows of the training stream, with next-token targets
    starts = range(0, train_data.size(1) - 1 - bptt, bptt)
    check_x = torch.cat([train_data[:, i : i + bptt] for i in starts])
    check_y = torch.cat([train_data[:, i + 1 : i + 1 + bptt] for i in starts])
    vstarts = range(0, val_data.size(1) - 1 - bptt, bptt)
    val_x = torch.cat([val_data[:, i : i + bptt] for i in vstarts])
    val_y = torch.cat([val_data[:, i + 1 : i + 1 + bptt] for i in vstarts])

    return Setup(
        model=model,
        data=(check_x, check_y),
        loss_fn=lm_loss,
        optimizer=optimizer,
        val=(val_x, val_y),
        check=dict(
            causal=True,
            steps=epochs,
            scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.95),
        ),
        loop=loop,
    )
