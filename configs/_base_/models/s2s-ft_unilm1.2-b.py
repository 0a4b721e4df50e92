# s2s-ft over UniLM v1.2 base uncased (12 layers, 768 wide, BERT uncased WordPiece): the unilm file loads through the
# 'bert' converter (BERT / RoBERTa / XLM-R / ELECTRA / UniLM / MiniLM layouts); positions extended to source +
# target by tiling the pretrained rows (s2s-ft's reuse_position_embedding). Put the released files at these paths.
model = dict(
    type='beitmm.Seq2SeqFinetuner',
    algorithm='pseudo-masked',
    max_source_len=464,
    max_target_len=48,
    target_mask_prob=0.5,  # s2s-ft's default (issue #581: word drop)
    label_smoothing=0.1,
    num_beams=5,
    length_penalty=0.,
    min_len=1,
    no_repeat_ngram_size=3,  # --forbid_duplicate_ngrams
    ngram_ignore_words=('.', ),  # --forbid_ignore_word "."
    backbone=dict(type='beitmm.BertEncoder', arch='base', vocab_size=30522, max_position_embeddings=512,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/unilm1.2-base-uncased.bin')),
    tokenizer=dict(type='beitmm.WordPieceTokenizer', vocab_file='pretrain/unilm1.2-base-uncased-vocab.txt'))
