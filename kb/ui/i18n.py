"""Interface strings in Vietnamese (default) and English: one dict, one lookup function.

Every label the app shows comes from here; ``t(key)`` reads the current language from the
session. Values of metadata fields (cities, outcomes, domains...) have labels here too.
"""

from __future__ import annotations

from typing import Any

from kb.lessons.export import KIND

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"

STRINGS: dict[str, dict[str, str]] = {
    # shell
    "app_title": {"vi": "Lessons KB", "en": "Lessons KB"},
    "app_tagline": {
        "vi": "Bài học kinh nghiệm từ chương trình đô thị thông minh của Hà Nội, TP. HCM và Đà Nẵng",
        "en": "Lessons learned from the smart-city programmes of Hà Nội, HCMC and Đà Nẵng",
    },
    "nav": {"vi": "Trang", "en": "Page"},
    "page_ask": {"vi": "Hỏi đáp", "en": "Ask"},
    "page_lessons": {"vi": "Bài học", "en": "Lessons"},
    "page_documents": {"vi": "Tài liệu", "en": "Documents"},
    "page_evals": {"vi": "Đánh giá", "en": "Evals"},
    "page_corpus": {"vi": "Kho dữ liệu", "en": "Corpus"},
    "page_upload": {"vi": "Tải lên", "en": "Upload"},
    "upload_title": {"vi": "Tải tài liệu lên", "en": "Upload documents"},
    "upload_not_allowed": {
        "vi": "Bạn không có quyền tải tài liệu lên.",
        "en": "You may not upload documents.",
    },
    "upload_intro": {
        "vi": "Tệp được lưu vào {folder} (kèm tệp siêu dữ liệu) và nạp ngay; tối đa {mb} MB mỗi"
        " tệp. Có thể nạp lại từ dòng lệnh bằng kb ingest.",
        "en": "Files are saved into {folder} (with a metadata sidecar) and ingested at once; at"
        " most {mb} MB each. They can be re-ingested from the shell with kb ingest.",
    },
    "upload_files": {"vi": "Chọn hoặc thả tệp", "en": "Choose or drop files"},
    "upload_reading": {"vi": "Đang đọc tệp…", "en": "Reading the file…"},
    "upload_replace": {
        "vi": "Thay tệp cùng tên đã có",
        "en": "Replace a file of the same name",
    },
    "upload_go": {"vi": "Lưu và nạp", "en": "Save and ingest"},
    "upload_progress": {"vi": "Đã xử lý {done}/{total} tệp", "en": "{done} of {total} files done"},
    "upload_ingesting": {"vi": "Đang nạp {name}…", "en": "Ingesting {name}…"},
    "upload_refused": {"vi": "{name}: bị từ chối: {why}", "en": "{name}: refused: {why}"},
    "upload_done": {"vi": "{name}: {status} ({n} đoạn)", "en": "{name}: {status} ({n} chunks)"},
    "upload_added": {"vi": "đã thêm", "en": "added"},
    "upload_updated": {"vi": "đã cập nhật", "en": "updated"},
    "upload_unchanged": {"vi": "không đổi", "en": "unchanged"},
    "language": {"vi": "Ngôn ngữ giao diện", "en": "Interface language"},
    "signed_in_as": {"vi": "Đăng nhập: {name}", "en": "Signed in: {name}"},
    "sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "sign_in_hint": {
        "vi": "Đăng nhập để xem cả tài liệu nội bộ.",
        "en": "Sign in to see internal documents too.",
    },
    "public_only_note": {
        "vi": "Chỉ hiển thị tài liệu công khai.",
        "en": "Showing public documents only.",
    },
    # store problems
    "store_empty": {
        "vi": "Kho tri thức đang trống: chưa có tài liệu nào được nạp.",
        "en": "The knowledge base is empty: no document has been ingested yet.",
    },
    "store_empty_hint": {
        "vi": "Chạy một trong các lệnh sau rồi tải lại trang:",
        "en": "Run one of these commands, then reload the page:",
    },
    "store_error": {
        "vi": "Không mở được kho tri thức.",
        "en": "The knowledge base cannot be opened.",
    },
    "store_error_hint": {
        "vi": "Khởi động kho (hoặc sửa KB_CHROMA_URL / KB_STORE) rồi tải lại trang, ví dụ:",
        "en": "Start the store (or fix KB_CHROMA_URL / KB_STORE), then reload the page, e.g.:",
    },
    "store_unreachable_hint": {
        "vi": "Khởi động lại máy chủ Chroma (cùng thư mục dữ liệu, máy và cổng như trong "
        "KB_CHROMA_URL), hoặc bỏ KB_CHROMA_URL để dùng kho cục bộ KB_STORE. Khi kho hoạt động "
        "trở lại, thao tác tiếp theo sẽ chạy bình thường, không cần khởi động lại ứng dụng.",
        "en": "Start the Chroma server again (same data folder, host and port as in "
        "KB_CHROMA_URL), or unset KB_CHROMA_URL to use the local store KB_STORE. Once the store "
        "is back, the next interaction works; the app does not need a restart.",
    },
    "store_hint_server": {
        "vi": "trên máy chủ kho, với thư mục dữ liệu của nó:",
        "en": "on the store's machine, with its data folder:",
    },
    "store_hint_local": {
        "vi": "hoặc dùng kho cục bộ (KB_STORE) thay vì máy chủ:",
        "en": "or use the local store (KB_STORE) instead of a server:",
    },
    "store_hint_path": {
        "vi": "kiểm tra thư mục kho (KB_STORE) và tính nhất quán:",
        "en": "check the store folder (KB_STORE) and its consistency:",
    },
    "unexpected_error": {"vi": "Đã xảy ra lỗi: {msg}", "en": "Something went wrong: {msg}"},
    # ask
    "ask_title": {"vi": "Hỏi kho bài học", "en": "Ask the lessons"},
    "ask_intro": {
        "vi": "Đặt câu hỏi bằng tiếng Việt hoặc tiếng Anh. Mọi câu trả lời đều dẫn nguồn.",
        "en": "Ask in Vietnamese or English. Every answer cites its sources.",
    },
    "question": {"vi": "Câu hỏi", "en": "Question"},
    "question_placeholder": {
        "vi": "Ví dụ: Vì sao iParking ở Hà Nội không thành công?",
        "en": "For example: Why did iParking in Hà Nội fail?",
    },
    "ask_button": {"vi": "Hỏi", "en": "Ask"},
    "compare_toggle": {"vi": "So sánh ba thành phố", "en": "Compare the cities"},
    "compare_help": {
        "vi": "Trả lời riêng cho Hà Nội, TP. HCM và Đà Nẵng, đặt cạnh nhau.",
        "en": "Answer separately for Hà Nội, HCMC and Đà Nẵng, side by side.",
    },
    "examples": {"vi": "Thử một câu hỏi mẫu", "en": "Try an example question"},
    "thinking": {"vi": "Đang tìm câu trả lời…", "en": "Finding the answer…"},
    "answer": {"vi": "Câu trả lời", "en": "Answer"},
    "sources": {"vi": "Nguồn trích dẫn", "en": "Sources"},
    "lessons_on_theme": {
        "vi": "Bài học các thành phố đã ghi nhận về chủ đề này",
        "en": "Lessons the cities recorded on this theme",
    },
    "no_answer_city": {
        "vi": "Không có tài liệu nào về thành phố này trả lời câu hỏi.",
        "en": "No document about this city answers the question.",
    },
    "abstained_title": {
        "vi": "Kho tri thức không có câu trả lời cho câu hỏi này.",
        "en": "The knowledge base has no answer to this question.",
    },
    "abstained_hint": {
        "vi": "Thử diễn đạt lại, bỏ bớt bộ lọc, hoặc xem các tài liệu gần nhất:",
        "en": "Try rephrasing, removing filters, or look at the nearest documents:",
    },
    "no_nearest": {"vi": "Không có tài liệu nào gần.", "en": "No nearby documents."},
    "open_document": {
        "vi": "Mở tài liệu tại đoạn trích",
        "en": "Open the document at this passage",
    },
    "ocr_note": {
        "vi": "Văn bản của {n} trang được nhận dạng từ bản quét (OCR) và có thể có lỗi;"
        " hãy đối chiếu với tệp gốc.",
        "en": "The text of {n} page(s) was recognised from a scan (OCR) and may contain errors;"
        " check it against the original file.",
    },
    "ocr_page": {
        "vi": "Nhận dạng từ bản quét (OCR), độ tin cậy {c}%",
        "en": "Recognised from a scan (OCR), confidence {c}%",
    },
    "ocr_low": {
        "vi": "độ tin cậy thấp: văn bản có thể sai nhiều",
        "en": "low confidence: the text may be badly wrong",
    },
    "original_source": {"vi": "Bản gốc trực tuyến", "en": "The original online"},
    "section": {"vi": "Mục", "en": "Section"},
    "by_city": {"vi": "Theo từng thành phố", "en": "By city"},
    "answered_by": {"vi": "Trả lời bởi: {who}", "en": "Answered by: {who}"},
    "filters": {"vi": "Bộ lọc", "en": "Filters"},
    "filters_active": {"vi": "Đang lọc: {what}", "en": "Filtered by: {what}"},
    "city": {"vi": "Thành phố", "en": "City"},
    "domain": {"vi": "Lĩnh vực", "en": "Domain"},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
    "doc_type": {"vi": "Loại tài liệu", "en": "Document type"},
    "doc_language": {"vi": "Ngôn ngữ tài liệu", "en": "Document language"},
    "year": {"vi": "Năm", "en": "Year"},
    "year_range": {"vi": "Khoảng năm", "en": "Year range"},
    "clear_filters": {"vi": "Xoá bộ lọc", "en": "Clear filters"},
    "any": {"vi": "Tất cả", "en": "Any"},
    # feedback
    "feedback_q": {"vi": "Câu trả lời này có hữu ích không?", "en": "Was this answer useful?"},
    "feedback_comment": {"vi": "Góp ý (không bắt buộc)", "en": "Comment (optional)"},
    "useful": {"vi": "Hữu ích", "en": "Useful"},
    "not_useful": {"vi": "Không hữu ích", "en": "Not useful"},
    "feedback_thanks": {"vi": "Cảm ơn phản hồi của bạn!", "en": "Thank you for your feedback!"},
    # documents
    "documents_title": {"vi": "Tài liệu", "en": "Documents"},
    "documents_intro": {
        "vi": "Toàn bộ tài liệu trong kho với siêu dữ liệu. Chọn một dòng để đọc tài liệu.",
        "en": "All documents in the knowledge base with their metadata. Select a row to read one.",
    },
    "search_documents": {"vi": "Tìm theo tên, dự án hoặc mã", "en": "Search title, project or id"},
    "n_documents": {"vi": "{n} tài liệu", "en": "{n} documents"},
    "no_documents_match": {
        "vi": "Không có tài liệu nào khớp với bộ lọc.",
        "en": "No document matches the filters.",
    },
    "title": {"vi": "Tiêu đề", "en": "Title"},
    "project": {"vi": "Dự án", "en": "Project"},
    "access": {"vi": "Quyền truy cập", "en": "Access"},
    "pages": {"vi": "Số trang", "en": "Pages"},
    "chunks": {"vi": "Đoạn", "en": "Chunks"},
    "format": {"vi": "Định dạng", "en": "Format"},
    "source": {"vi": "Nguồn", "en": "Source"},
    "doc_id": {"vi": "Mã tài liệu", "en": "Document id"},
    "ingested_at": {"vi": "Thời điểm nạp", "en": "Ingested at"},
    "back_to_list": {"vi": "← Tất cả tài liệu", "en": "← All documents"},
    "doc_not_found": {
        "vi": "Không tìm thấy tài liệu “{doc}” (hoặc bạn không có quyền xem).",
        "en": "Document “{doc}” was not found (or you may not view it).",
    },
    "metadata": {"vi": "Siêu dữ liệu", "en": "Metadata"},
    "text": {"vi": "Nội dung", "en": "Text"},
    "chunk_list": {"vi": "Danh sách đoạn", "en": "Chunks"},
    "group_by": {"vi": "Hiển thị theo", "en": "Show by"},
    "by_section": {"vi": "Mục", "en": "Section"},
    "download": {"vi": "Tải tệp gốc", "en": "Download the original file"},
    "file_unavailable": {
        "vi": "Tệp gốc không truy cập được từ máy chủ này.",
        "en": "The original file is not reachable from this server.",
    },
    "cited_passage": {"vi": "Đoạn được trích dẫn", "en": "Cited passage"},
    "share_link": {"vi": "Liên kết chia sẻ", "en": "Shareable link"},
    "lesson": {"vi": "bài học", "en": "lesson"},
    "no_text": {"vi": "Tài liệu không có nội dung.", "en": "The document has no text."},
    "untitled_section": {"vi": "(không có tên mục)", "en": "(untitled section)"},
    "chunk_n": {"vi": "Đoạn {n}", "en": "Chunk {n}"},
    # evals
    "evals_title": {"vi": "Đánh giá chất lượng", "en": "Quality evals"},
    "evals_retrieval": {"vi": "Tìm kiếm", "en": "Retrieval"},
    "evals_answers": {"vi": "Câu trả lời", "en": "Answers"},
    "run_answer_eval": {"vi": "Chạy đánh giá câu trả lời", "en": "Run the answer eval"},
    "run_needs_sign_in": {
        "vi": "Đăng nhập để chạy đánh giá.",
        "en": "Sign in to run the evals.",
    },
    "no_answer_reports": {
        "vi": "Chưa có báo cáo đánh giá câu trả lời nào trong {dir}.",
        "en": "No answer eval report in {dir} yet.",
    },
    "answerer": {"vi": "Bộ trả lời", "en": "Answerer"},
    "answers_metrics": {"vi": "Chỉ số câu trả lời", "en": "Answer metrics"},
    "answers_help": {
        "vi": "Độ chính xác trích dẫn: tỉ lệ trích dẫn trỏ tới tài liệu đúng. Độ phủ dữ kiện: "
        "tỉ lệ câu hỏi có dữ kiện mong đợi nằm trong câu trả lời. Từ chối đúng: tỉ lệ câu hỏi "
        "không có câu trả lời mà hệ thống từ chối. Từ chối nhầm (càng thấp càng tốt): tỉ lệ câu "
        "hỏi có câu trả lời mà hệ thống lại từ chối.",
        "en": "Citation precision: share of citations pointing to a relevant document. Fact "
        "recall: share of questions whose expected fact is in the answer. Abstention accuracy: "
        "share of unanswerable questions the system declined. False abstention (lower is "
        "better): share of answerable questions it declined.",
    },
    "citation_precision": {"vi": "Độ chính xác trích dẫn", "en": "Citation precision"},
    "fact_recall": {"vi": "Độ phủ dữ kiện", "en": "Fact recall"},
    "abstention_accuracy": {"vi": "Từ chối đúng", "en": "Abstention accuracy"},
    "false_abstention": {"vi": "Từ chối nhầm", "en": "False abstention"},
    "weak_on_answerable": {"vi": "Khớp yếu (có đáp án)", "en": "Weak match (answerable)"},
    "weak_on_unanswerable": {
        "vi": "Khớp yếu (không có đáp án)",
        "en": "Weak match (unanswerable)",
    },
    # lesson records (kb eval --lessons)
    "evals_lessons": {
        "vi": "Bản ghi bài học (kb eval --lessons)",
        "en": "Lesson records (kb eval --lessons)",
    },
    "lessons_help": {
        "vi": "Trên bộ gán nhãn evals/lessons: độ chính xác và độ phủ của việc trích bài học, "
        "độ đúng loại bản ghi, và chất lượng nhóm chủ đề (ARI, độ thuần) so với chủ đề gán tay.",
        "en": "On the labelled set in evals/lessons: precision and recall of lesson extraction, "
        "record kinds, and the themes against the hand-assigned ones (ARI, purity).",
    },
    "no_lesson_reports": {
        "vi": "Chưa có báo cáo bài học nào trong {dir}: chạy `kb eval --lessons`.",
        "en": "No lesson report in {dir} yet: run `kb eval --lessons`.",
    },
    "lesson_precision": {"vi": "Độ chính xác", "en": "Precision"},
    "lesson_recall": {"vi": "Độ phủ", "en": "Recall"},
    "lesson_kind_accuracy": {"vi": "Đúng loại", "en": "Kind accuracy"},
    "lesson_ari": {"vi": "ARI chủ đề", "en": "Theme ARI"},
    "lesson_purity": {"vi": "Độ thuần chủ đề", "en": "Theme purity"},
    "lessons_counts": {
        "vi": "{labelled} bài học gán nhãn trong {docs} tài liệu. Toàn kho: {total} bài học, "
        "{exact} trích nguyên văn, {themes} chủ đề ({multi} chủ đề có từ hai thành phố).",
        "en": "{labelled} labelled lessons in {docs} documents. Whole store: {total} lessons, "
        "{exact} exact quotes, {themes} themes ({multi} spanning two cities or more).",
    },
    # question-answer sets (kb eval --qa)
    "evals_qa": {
        "vi": "Bộ hỏi đáp ngoài (kb eval --qa)",
        "en": "Outside question-answer sets (kb eval --qa)",
    },
    "no_qa_reports": {
        "vi": "Chưa có báo cáo hỏi đáp nào trong {dir}: chạy `kb eval --qa DIR`.",
        "en": "No question-answer report in {dir} yet: run `kb eval --qa DIR`.",
    },
    "qa_by_group": {
        "vi": "Theo loại và ngôn ngữ câu hỏi, cạnh mốc so sánh",
        "en": "By kind and question language, beside the baseline",
    },
    "qa_help": {
        "vi": "Độ phủ dữ kiện: tỉ lệ câu hỏi có đáp án mà một đoạn đáp án chuẩn nằm trong câu trả "
        "lời. Trích dẫn đầu đúng: trong các câu được trả lời, tỉ lệ trích dẫn đầu tiên là đúng "
        "tài liệu. Từ chối nhầm (càng thấp càng tốt): tỉ lệ câu hỏi có đáp án bị từ chối. Từ "
        "chối câu gần đúng: tỉ lệ câu hỏi về đoạn bị giữ lại mà hệ thống từ chối. Cùng / khác "
        "ngôn ngữ: ngôn ngữ câu hỏi so với ngôn ngữ đoạn văn trả lời.",
        "en": "Fact recall: share of answerable questions whose answer holds a gold span. First "
        "citation right: of the questions answered, the share whose first citation is the "
        "right document. False abstention (lower is better): share of answerable questions "
        "declined. Near-miss abstention: share of questions about a withheld paragraph that "
        "were declined. Same / other language: the question's language against the answering "
        "paragraph's.",
    },
    "qa_baseline_note": {
        "vi": "Mốc so sánh: top-2 đoạn theo embedding, 2 câu gần câu hỏi nhất, từ chối dưới ngưỡng "
        "tương đồng {threshold} (để 5% câu hỏi có đáp án bị từ chối).",
        "en": "Baseline: dense top-2 paragraphs, their 2 sentences nearest the question, "
        "abstaining below similarity {threshold} (set so that 5% of answerable questions "
        "abstain).",
    },
    "qa_group": {"vi": "Nhóm", "en": "Group"},
    "qa_all": {"vi": "Tất cả", "en": "All"},
    "qa_same": {"vi": "Cùng ngôn ngữ", "en": "Same language"},
    "qa_cross": {"vi": "Khác ngôn ngữ", "en": "Other language"},
    "qa_near_miss": {"vi": "Câu gần đúng", "en": "Near misses"},
    "qa_ours": {"vi": "Lessons KB", "en": "Lessons KB"},
    "qa_baseline": {"vi": "Mốc so sánh", "en": "Baseline"},
    "qa_baseline_of": {"vi": "{what} (mốc)", "en": "{what} (baseline)"},
    "qa_per_group": {"vi": "{n} câu mỗi nhóm", "en": "{n} per group"},
    "qa_questions": {"vi": "Từng câu hỏi ({n})", "en": "Each question ({n})"},
    "first_citation_right": {"vi": "Trích dẫn đầu đúng", "en": "First citation right"},
    "near_miss_abstention": {"vi": "Từ chối câu gần đúng", "en": "Near-miss abstention"},
    "evals_intro": {
        "vi": "Kết quả đánh giá trên bộ câu hỏi chuẩn (golden set) và phản hồi của người dùng.",
        "en": "Results on the golden question set, and what users said about the answers.",
    },
    "no_reports": {
        "vi": "Chưa có báo cáo đánh giá nào trong {dir}.",
        "en": "No eval report in {dir} yet.",
    },
    "run_eval": {"vi": "Chạy đánh giá golden set", "en": "Run the golden-set eval"},
    "running_eval": {
        "vi": "Đang chạy đánh giá… {done}/{total}",
        "en": "Running the eval… {done}/{total}",
    },
    "eval_saved": {"vi": "Đã lưu báo cáo: {path}", "en": "Report saved: {path}"},
    "eval_failed": {"vi": "Đánh giá thất bại: {msg}", "en": "The eval failed: {msg}"},
    "eval_unavailable": {
        "vi": "Module đánh giá (kb.evals) chưa sẵn sàng.",
        "en": "The eval module (kb.evals) is not available.",
    },
    "latest_report": {"vi": "Báo cáo mới nhất", "en": "Latest report"},
    "dataset": {"vi": "Bộ dữ liệu", "en": "Dataset"},
    "queries": {"vi": "Số câu hỏi", "en": "Queries"},
    "created_at": {"vi": "Thời điểm chạy", "en": "Run at"},
    "mode": {"vi": "Chế độ", "en": "Mode"},
    "by_mode": {"vi": "Theo chế độ tìm kiếm", "en": "By search mode"},
    "breakdown": {"vi": "Chi tiết theo nhóm", "en": "Breakdown"},
    "breakdown_mode": {"vi": "Chế độ để xem chi tiết", "en": "Mode to break down"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "metric": {"vi": "Chỉ số", "en": "Metric"},
    "history": {"vi": "Lịch sử các lần chạy", "en": "History of runs"},
    "no_history": {"vi": "Chưa có lần chạy trước.", "en": "No earlier runs."},
    "feedback_title": {"vi": "Phản hồi của người dùng", "en": "User feedback"},
    "no_feedback": {"vi": "Chưa có phản hồi nào.", "en": "No feedback yet."},
    "n_feedback": {"vi": "Tổng số phản hồi", "en": "Feedback received"},
    "n_useful": {"vi": "Hữu ích", "en": "Useful"},
    "n_not_useful": {"vi": "Không hữu ích", "en": "Not useful"},
    "comment": {"vi": "Góp ý", "en": "Comment"},
    "time": {"vi": "Thời gian", "en": "Time"},
    "other_reports": {"vi": "Báo cáo khác", "en": "Other reports"},
    "kind": {"vi": "Loại câu hỏi", "en": "Question kind"},
    "lang_field": {"vi": "Ngôn ngữ", "en": "Language"},
    # lessons
    "lessons_title": {"vi": "Bài học theo chủ đề", "en": "Lessons by theme"},
    "lessons_intro": {
        "vi": "Bài học, nguyên nhân và khuyến nghị các tài liệu nêu, gom theo chủ đề và đặt cạnh "
        "nhau theo thành phố. Mỗi bài học dẫn tới đoạn trích của nó trong tài liệu.",
        "en": "The lessons, causes and recommendations the documents state, grouped by theme and "
        "set side by side per city. Each one links to its passage in its document.",
    },
    "lessons_search": {"vi": "Tìm chủ đề", "en": "Find themes"},
    "lessons_search_hint": {
        "vi": "Ví dụ: thanh toán đỗ xe, dữ liệu mở",
        "en": "For example: parking payment, open data",
    },
    "lesson_kind": {"vi": "Loại bài học", "en": "Kind"},
    "theme": {"vi": "Chủ đề", "en": "Theme"},
    "n_lessons": {
        "vi": "{lessons} bài học trong {themes} chủ đề",
        "en": "{lessons} lessons in {themes} themes",
    },
    "lessons_grid": {
        "vi": "Số bài học theo chủ đề và thành phố",
        "en": "Lessons by theme and city",
    },
    "lessons_grid_help": {
        "vi": "Bấm một con số để chỉ xem bài học của chủ đề đó ở thành phố đó.",
        "en": "Click a number to see only that theme's lessons in that city.",
    },
    "total": {"vi": "Tổng", "en": "Total"},
    "no_lessons": {
        "vi": "Chưa có bài học nào trong kho (hoặc bạn không có quyền xem).",
        "en": "No lessons in the knowledge base yet (or none you may view).",
    },
    "no_lessons_match": {
        "vi": "Không có bài học nào khớp với bộ lọc hoặc từ khoá.",
        "en": "No lesson matches the filters or the search.",
    },
    "more_themes": {
        "vi": "Còn {n} chủ đề nữa: thu hẹp bằng bộ lọc hoặc ô tìm kiếm; tệp xuất có đủ.",
        "en": "{n} more themes: narrow with the filters or the search; the exports hold them all.",
    },
    "export": {"vi": "Xuất phần đang chọn", "en": "Export the selection"},
    # corpus
    "corpus_title": {"vi": "Kho dữ liệu", "en": "Corpus"},
    "corpus_intro": {
        "vi": "Những gì đã được nạp vào kho tri thức.",
        "en": "What has been ingested into the knowledge base.",
    },
    "n_docs_metric": {"vi": "Tài liệu", "en": "Documents"},
    "n_chunks_metric": {"vi": "Đoạn văn bản", "en": "Passages"},
    "last_ingested": {"vi": "Lần nạp gần nhất", "en": "Last ingested"},
    "n_cities": {"vi": "Thành phố", "en": "Cities"},
    "documents_by": {"vi": "Tài liệu theo {field}", "en": "Documents by {field}"},
    "ingest_timeline": {"vi": "Lịch sử nạp tài liệu", "en": "What was ingested when"},
    "count": {"vi": "Số tài liệu", "en": "Documents"},
    "date": {"vi": "Ngày", "en": "Date"},
}

# Labels of metadata values (anything unknown is shown as stored).
VALUES: dict[str, dict[str, dict[str, str]]] = {
    "city": {
        "hanoi": {"vi": "Hà Nội", "en": "Hà Nội"},
        "hcmc": {"vi": "TP. Hồ Chí Minh", "en": "Ho Chi Minh City"},
        "danang": {"vi": "Đà Nẵng", "en": "Đà Nẵng"},
        "multi": {"vi": "Nhiều thành phố", "en": "Several cities"},
    },
    "outcome": {
        "success": {"vi": "Thành công", "en": "Success"},
        "partial": {"vi": "Thành công một phần", "en": "Partial"},
        "failure": {"vi": "Thất bại", "en": "Failure"},
        "ongoing": {"vi": "Đang triển khai", "en": "Ongoing"},
    },
    "language": {
        "vi": {"vi": "Tiếng Việt", "en": "Vietnamese"},
        "en": {"vi": "Tiếng Anh", "en": "English"},
    },
    "access": {
        "public": {"vi": "Công khai", "en": "Public"},
        "internal": {"vi": "Nội bộ", "en": "Internal"},
    },
    "domain": {
        "traffic": {"vi": "Giao thông", "en": "Traffic"},
        "data-platform": {"vi": "Nền tảng dữ liệu", "en": "Data platform"},
        "e-government": {"vi": "Chính quyền điện tử", "en": "E-government"},
        "governance": {"vi": "Quản trị", "en": "Governance"},
        "connectivity": {"vi": "Kết nối", "en": "Connectivity"},
        "environment": {"vi": "Môi trường", "en": "Environment"},
        "infrastructure": {"vi": "Hạ tầng", "en": "Infrastructure"},
        "public-security": {"vi": "An ninh trật tự", "en": "Public security"},
        "tourism": {"vi": "Du lịch", "en": "Tourism"},
    },
    "doc_type": {
        "evaluation": {"vi": "Đánh giá", "en": "Evaluation"},
        "lessons-learned": {"vi": "Bài học kinh nghiệm", "en": "Lessons learned"},
        "plan": {"vi": "Kế hoạch", "en": "Plan"},
        "post-mortem": {"vi": "Hậu kiểm", "en": "Post-mortem"},
        "report": {"vi": "Báo cáo", "en": "Report"},
        "review": {"vi": "Tổng kết", "en": "Review"},
        "technology-brief": {"vi": "Tóm tắt công nghệ", "en": "Technology brief"},
    },
    # a lesson record's kind, worded as the exports word it
    "kind": {k: {lang: KIND[lang][k] for lang in LANGS} for k in KIND["en"]},
    "unknown": {"unknown": {"vi": "Không rõ", "en": "Unknown"}},
}

EXAMPLES: dict[str, list[str]] = {
    "vi": [
        "Vì sao iParking ở Hà Nội không thành công?",
        "Đà Nẵng rút ra bài học gì từ chính quyền điện tử?",
        "So sánh trung tâm điều hành của ba thành phố",
    ],
    "en": [
        "How did the three cities build their operations centres?",
        "Why did iParking in Hà Nội fail?",
        "What did Đà Nẵng learn from its free public Wi-Fi?",
    ],
}

_current = {"lang": DEFAULT_LANG}


def set_lang(lang: str) -> None:
    """Used by the app at the start of every run (and by tests)."""
    _current["lang"] = lang if lang in LANGS else DEFAULT_LANG


def get_lang() -> str:
    try:
        import streamlit as st
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        if get_script_run_ctx(suppress_warning=True) is None:
            return _current["lang"]
        lang = st.session_state.get("ui_lang")
        if lang in LANGS:
            return lang
    except Exception:
        pass
    return _current["lang"]


def t(key: str, lang: str | None = None, **kwargs: Any) -> str:
    """The interface string ``key`` in the current language, formatted with ``kwargs``."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang or get_lang()) or entry[DEFAULT_LANG]
    return text.format(**kwargs) if kwargs else text


def value_label(field: str, value: Any, lang: str | None = None) -> str:
    """Human label of a metadata value, e.g. ``value_label("city", "hcmc")``."""
    if value is None or value == "":
        return "—"
    labels = VALUES.get(field, {}).get(str(value))
    if labels is None:
        return str(value)
    return labels.get(lang or get_lang(), str(value))


def field_label(field: str, lang: str | None = None) -> str:
    key = {"language": "doc_language", "lang": "lang_field"}.get(field, field)
    return t(key, lang) if key in STRINGS else field
