"""PyTorch's "NLP From Scratch: Translation with a Sequence to Sequence Network" (the batched
version), on a toy task: reverse a sequence of digits. An ``EncoderRNN`` (embedding, dropout,
GRU) hands its last hidden state to a ``DecoderRNN`` that starts from ``SOS`` and, when given
the target tensor, feeds the true previous token at each step (teacher forcing), returning
log-probabilities for ``MAX_LENGTH`` steps; ``nn.NLLLoss`` scores them, ignoring the padding
after ``EOS``. Encoder and decoder have their own Adam optimizers, stepped together in
``train_epoch``. The user wraps the pair in one module for ``rw.check`` and passes the target
as a second input (teacher forcing) with ``batch_fn``."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/intermediate/seq2seq_translation_tutorial.html"

SOS_token, EOS_token, PAD_token = 0, 1, 2
N_DIGITS = 10  # digit d is token d + 3
MAX_LENGTH = 7  # up to 6 digits + EOS


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class DecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden = self.forward_step(decoder_input, decoder_hidden)
            decoder_outputs.append(decoder_output)
            if target_tensor is not None:
                # Teacher forcing: Feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        return decoder_outputs, decoder_hidden, None  # None for consistency in the training loop

    def forward_step(self, input, hidden):
        output = self.embedding(input)
        output = F.relu(output)
        output, hidden = self.gru(output, hidden)
        output = self.out(output)
        return output, hidden


class Seq2Seq(nn.Module):
    """The two halves as one module, for rw.check."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, input_tensor, target_tensor=None):
        encoder_outputs, encoder_hidden = self.encoder(input_tensor)
        decoder_outputs, _, _ = self.decoder(encoder_outputs, encoder_hidden, target_tensor)
        return decoder_outputs


def get_dataloader(n, batch_size, g, shuffle):
    input_ids = torch.full((n, MAX_LENGTH), PAD_token, dtype=torch.long)
    target_ids = torch.full((n, MAX_LENGTH), PAD_token, dtype=torch.long)
    for idx in range(n):
        length = int(torch.randint(3, MAX_LENGTH, (1,), generator=g))
        inp_ids = (torch.randint(0, N_DIGITS, (length,), generator=g) + 3).tolist()
        tgt_ids = inp_ids[::-1]
        inp_ids.append(EOS_token)
        tgt_ids.append(EOS_token)
        input_ids[idx, : len(inp_ids)] = torch.tensor(inp_ids)
        target_ids[idx, : len(tgt_ids)] = torch.tensor(tgt_ids)
    data = TensorDataset(input_ids, target_ids)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle)


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    hidden_size = 64
    batch_size = 32
    train_dataloader = get_dataloader(1280, batch_size, g, shuffle=True)
    test_dataloader = get_dataloader(256, 64, g, shuffle=False)
    n_tokens = N_DIGITS + 3

    encoder = EncoderRNN(n_tokens, hidden_size)
    decoder = DecoderRNN(hidden_size, n_tokens)
    model = Seq2Seq(encoder, decoder)
    learning_rate = 0.005
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss(ignore_index=PAD_token)

    def seq_loss(decoder_outputs, target_tensor):
        return criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))

    def train_epoch(
        w, dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion
    ):
        total_loss = 0
        for data in dataloader:
            input_tensor, target_tensor = data
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
            loss = criterion(
                decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1)
            )
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            w.log(loss=loss)
            total_loss += loss.item()
        return total_loss / len(dataloader)

    def evaluate_loss(dataloader):
        encoder.eval()
        decoder.eval()
        total = 0.0
        with torch.no_grad():
            for input_tensor, target_tensor in dataloader:
                encoder_outputs, encoder_hidden = encoder(input_tensor)
                decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
                total += seq_loss(decoder_outputs, target_tensor).item()
        encoder.train()
        decoder.train()
        return total / len(dataloader)

    def train(w, n_epochs=3):
        encoder.train()
        decoder.train()
        for epoch in range(1, n_epochs + 1):
            train_epoch(
                w,
                train_dataloader,
                encoder,
                decoder,
                encoder_optimizer,
                decoder_optimizer,
                criterion,
            )
            w.log(val_loss=evaluate_loss(test_dataloader))

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=seq_loss,
        optimizer=[encoder_optimizer, decoder_optimizer],
        val=test_dataloader,
        check=dict(batch_fn=lambda b: ((b[0], b[1]), b[1])),  # teacher forcing input
        loop=train,
    )
