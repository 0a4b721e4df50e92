"""GLUEDataset reads every task's released TSV layout; bad rows name the file and line."""
import pytest

from beitmm.datasets import GLUE_TASKS, GLUEDataset
from beitmm.testing.glue import write_glue_data


@pytest.fixture(scope='module')
def glue_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('glue_data')
    write_glue_data(root, n=6)
    return root


@pytest.mark.parametrize('task', sorted(GLUE_TASKS))
def test_every_task_reads_its_layout(glue_root, task):
    t = GLUE_TASKS[task]
    for split in ('train', 'dev'):
        ds = GLUEDataset(task, split, data_root=str(glue_root))
        assert len(ds) == 6
        path = ds.ann_file
        with open(path, encoding='utf-8') as f:
            rows = [line.rstrip('\n').split('\t') for line in f]
        first = 1 if t.header else 0
        item, row = ds[0], rows[first]
        assert item['text'] == row[t.a] and item['line'] == first + 1
        assert (item.get('text_b') == row[t.b]) if t.b is not None else 'text_b' not in item
        if t.labels is None:
            assert item['gt_score'] == [pytest.approx(float(row[-1]))]
        else:
            assert t.labels[item['gt_label']] == row[t.label]
    assert ds.metainfo['task'] == f'glue-{task}'


def test_mnli_dev_is_matched_and_mismatched_is_its_own_file(glue_root):
    m = GLUEDataset('MNLI', 'dev', data_root=str(glue_root))
    mm = GLUEDataset('mnli', 'dev_mismatched', data_root=str(glue_root))
    assert m.ann_file.endswith('dev_matched.tsv') and mm.ann_file.endswith('dev_mismatched.tsv')
    assert m.metainfo['classes'] == ('contradiction', 'entailment', 'neutral')


def test_quotes_are_text_not_quoting(tmp_path):
    (tmp_path / 'SST-2').mkdir()
    (tmp_path / 'SST-2' / 'dev.tsv').write_text('sentence\tlabel\n"a "quoted\' film\t1\n')
    assert GLUEDataset('sst2', 'dev', data_root=str(tmp_path))[0]['text'] == '"a "quoted\' film'


@pytest.mark.parametrize('content,message', [
    (b'sentence\tlabel\ngood film\t1\nbad\tfilm\t0\n', 'line 3: 3 tab-separated columns, expected 2'),
    (b'sentence\tlabel\ngood film\t1\nbad \xff film\t0\n', 'line 3: bytes'),
    (b'sentence\tlabel\ngood film\tpositive\n', "line 2: label 'positive' is not one of ('0', '1')"),
])
def test_bad_rows_name_file_and_line(tmp_path, content, message):
    (tmp_path / 'SST-2').mkdir()
    (tmp_path / 'SST-2' / 'train.tsv').write_bytes(content)
    with pytest.raises(ValueError, match='train.tsv') as e:
        GLUEDataset('sst2', 'train', data_root=str(tmp_path))
    assert message in str(e.value)


def test_bad_score_and_unknown_task(tmp_path):
    (tmp_path / 'STS-B').mkdir()
    header = '\t'.join(['c'] * 10)
    (tmp_path / 'STS-B' / 'dev.tsv').write_text(header + '\n' + '\t'.join(['x'] * 10) + '\n')
    with pytest.raises(ValueError, match="line 2: score 'x' is not a number"):
        GLUEDataset('sts-b', 'dev', data_root=str(tmp_path))
    with pytest.raises(KeyError, match='unknown GLUE task'):
        GLUEDataset('squad', 'dev', data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='CoLA/dev.tsv'):
        GLUEDataset('cola', 'dev', data_root=str(tmp_path))
