# s2s-ft pseudo-masked fine-tuning of XLM-R base (s2s-ft --model_type xlm-roberta, its multilingual option) with the
# unilm1.2 XSum recipe (source 464 / target 48, lr 7e-5, 500 warm-up of 32k steps, batch 64; beam 5, lp 0, 3-gram
# ban ignoring "."): s2s-ft gives no XLM-R recipe, so the recipe and the data are a beitmm choice; any line-aligned
# {train,val,test}.source / .target files in any language load the same way (set data_root). No official number.
# XLM-R conventions as s2s-ft (config.py / convert_state_dict.py): no token-type table (type_vocab_size 0: the
# checkpoint's type row is folded into the positions), 2 offset rows before the 512 positions (514 rows), lm_head ->
# the MLM head, LayerNorm eps 1e-5; the SentencePiece model with fairseq's ids (<s> 0, <pad> 1, </s> 2, <unk> 3,
# pieces shifted by 1, <mask> last: 250002 ids), sequences <s> source </s> and target </s> (cls / sep = <s> / </s>),
# output text through XLMRobertaTokenizer.convert_tokens_to_string (decode_seq2seq.py's xlm-roberta branch).
_base_ = ['./s2s-ft-pseudo-masked_unilm1.2-b_xsum.py']
model = dict(
    backbone=dict(_delete_=True, type='beitmm.BertEncoder', arch='base', vocab_size=250002,
                  max_position_embeddings=514, type_vocab_size=0, position_offset=2, layer_norm_eps=1e-5,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrain/xlm-roberta-base/pytorch_model.bin')),
    tokenizer=dict(_delete_=True, type='beitmm.SentencePieceTokenizer',
                   model_file='pretrain/xlm-roberta-base/sentencepiece.bpe.model'),
    ngram_ignore_words=('.', ))  # the piece "." (s2s-ft: convert_tokens_to_ids), else the one token "." encodes to
