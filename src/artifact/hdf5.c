/*
 * The HDF5 analyser (hdf5.h): libhdf5 opens the file read-only through a private virtual
 * file driver that reads through the cst_artifact_src, the root group's Keras attributes are
 * read into bounded memory and handed to the Keras configuration analyser, and the links are
 * visited for references to other files. Nothing is written, no file is opened by name, no
 * plugin is loaded, and no dataset's contents are read.
 */
#include "artifact/hdf5.h"

#include "artifact/keras.h"
#include "core/alloc.h"
#include "core/err.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What the driver is configured with (copied by libhdf5 into the access property list). */
struct drv_info {
	const struct cst_artifact_src *src;
	int *io_err;		/* set to the source's error when a read fails */
};

/* One open "file": libhdf5's public part first, as every driver's. */
struct drv_file {
	H5FD_t pub;
	struct drv_info info;
	haddr_t eoa;
};

static H5FD_t *
drv_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
	const struct drv_info *di = H5Pget_driver_info(fapl);
	struct drv_file *f;

	(void)name;
	(void)maxaddr;
	if (di == NULL || di->src == NULL ||
	    (flags & (H5F_ACC_RDWR | H5F_ACC_TRUNC | H5F_ACC_EXCL | H5F_ACC_CREAT)) != 0)
		return NULL;
	if ((f = cst_calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->info = *di;
	return &f->pub;
}

static herr_t
drv_close(H5FD_t *file)
{
	cst_free(file);
	return 0;
}

static haddr_t
drv_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
	(void)type;
	return ((const struct drv_file *)file)->eoa;
}

static herr_t
drv_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
	(void)type;
	((struct drv_file *)file)->eoa = addr;
	return 0;
}

static haddr_t
drv_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
	(void)type;
	return (haddr_t)((const struct drv_file *)file)->info.src->size;
}

/* Reads what the source holds; bytes past its end read as zeros (as the sec2 driver). */
static herr_t
drv_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buf)
{
	const struct drv_file *f = (const struct drv_file *)file;
	const struct cst_artifact_src *src = f->info.src;
	size_t n = 0;
	int r;

	(void)type;
	(void)dxpl;
	if (addr == HADDR_UNDEF || addr > UINT64_MAX - size)
		return -1;
	if (addr < src->size)
		n = src->size - addr < size ? (size_t)(src->size - addr) : size;
	if (n > 0 && (r = src->read(src, addr, buf, n)) != 0) {
		*f->info.io_err = r;
		return -1;
	}
	memset((unsigned char *)buf + n, 0, size - n);
	return 0;
}

static herr_t
drv_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
    const void *buf)
{
	(void)file;
	(void)type;
	(void)dxpl;
	(void)addr;
	(void)size;
	(void)buf;
	return -1;	/* read-only */
}

static const H5FD_class_t drv_class = {
	.name = "castellan_src",
	.maxaddr = (haddr_t)INT64_MAX,
	.fc_degree = H5F_CLOSE_STRONG,
	.fapl_size = sizeof(struct drv_info),
	.open = drv_open,
	.close = drv_close,
	.get_eoa = drv_get_eoa,
	.set_eoa = drv_set_eoa,
	.get_eof = drv_get_eof,
	.read = drv_read,
	.write = drv_write,
	.fl_map = H5FD_FLMAP_DICHOTOMY,
};

struct h5scan {
	cst_finding_fn fn;
	void *arg;
	hid_t file;
	size_t links;
	int err;		/* the first error (reported) */
};

#define WHY_MAX 256

/* Keeps the most specific message of libhdf5's error stack in arg (WHY_MAX bytes). */
static herr_t
why_cb(unsigned n, const H5E_error2_t *e, void *arg)
{
	char *buf = arg;

	(void)n;
	if (buf[0] == '\0' && e->desc != NULL && e->desc[0] != '\0')
		snprintf(buf, WHY_MAX, "%s", e->desc);
	return 0;
}

/* Reports err (CST_ELIMIT: hdf5.limit, else hdf5.parse_error with libhdf5's reason). */
static void
fail(struct h5scan *s, int err, const char *what)
{
	char why[WHY_MAX] = "";

	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, why_cb, why);
	H5Eclear2(H5E_DEFAULT);
	if (err == CST_ELIMIT)
		cst_artifact_emit(s->fn, s->arg, "hdf5.limit", CST_SEV_MEDIUM, NULL,
		    CST_FINDING_NO_OFFSET, "%s", what);
	else
		cst_artifact_emit(s->fn, s->arg, "hdf5.parse_error", CST_SEV_LOW, NULL,
		    CST_FINDING_NO_OFFSET, "%s%s%s", what, why[0] ? ": " : "", why);
	if (s->err == 0)
		s->err = err;
}

/* Printable ASCII for a detail line (in place). */
static void
printable(char *p)
{
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

/*
 * The root attribute name as one string of at most max bytes, in a new NUL-terminated buffer
 * (*out, cst_free; *len excludes the trailing NULs of a fixed-length string, as h5py's
 * reading strips them). 0; 1 (no such attribute); CST_EINVAL (not one string, unreadable);
 * CST_ELIMIT (longer than max); CST_ENOMEM. Errors are not reported here.
 */
static int
read_attr(hid_t file, const char *name, size_t max, char **out, size_t *len)
{
	hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
	hid_t mt = H5I_INVALID_HID;
	char *buf = NULL, *vs = NULL;
	htri_t ex, var;
	size_t n = 0;
	int r = CST_EINVAL;

	if ((ex = H5Aexists(file, name)) <= 0)
		return ex == 0 ? 1 : CST_EINVAL;
	if ((a = H5Aopen(file, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0 ||
	    H5Tget_class(t) != H5T_STRING || (sp = H5Aget_space(a)) < 0 ||
	    H5Sget_simple_extent_npoints(sp) != 1 || (var = H5Tis_variable_str(t)) < 0 ||
	    (mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0)
		goto out;
	if (var) {
		if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &vs) < 0 || vs == NULL)
			goto out;
		n = strlen(vs);
		if (n > max) {
			r = CST_ELIMIT;
			goto out;
		}
		if ((buf = cst_malloc(n + 1)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
		memcpy(buf, vs, n);
	} else {
		if ((n = H5Tget_size(t)) == 0)
			goto out;
		if (n > max) {
			r = CST_ELIMIT;
			goto out;
		}
		if (H5Tset_size(mt, n) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0)
			goto out;
		if ((buf = cst_malloc(n + 1)) == NULL) {
			r = CST_ENOMEM;
			goto out;
		}
		if (H5Aread(a, mt, buf) < 0)
			goto out;
		while (n > 0 && buf[n - 1] == '\0')
			n--;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;	/* transferred */
	r = 0;
out:
	if (vs != NULL)
		H5free_memory(vs);
	cst_free(buf);
	if (mt >= 0)
		H5Tclose(mt);
	if (sp >= 0)
		H5Sclose(sp);
	if (t >= 0)
		H5Tclose(t);
	if (a >= 0)
		H5Aclose(a);
	return r;
}

/* A configuration attribute through the Keras analyser. Sets *present. */
static void
scan_config(struct h5scan *s, const char *name, bool *present)
{
	char *json = NULL, what[96];
	size_t len = 0;
	int r;

	*present = false;
	r = read_attr(s->file, name, CST_KERAS_MAX_CONFIG, &json, &len);
	if (r == 1)
		return;
	*present = true;
	if (r == 0)
		r = cst_keras_config_scan(json, len, s->fn, s->arg);
	else if (r != CST_ENOMEM) {
		snprintf(what, sizeof(what), r == CST_ELIMIT ? "the %s attribute is longer than "
		    "16 MiB" : "the %s attribute is not one readable string", name);
		fail(s, r, what);
	}
	if (r != 0 && s->err == 0)
		s->err = r;
	cst_free(json);
}

/* keras_version and backend, for the record (absent or odd values are left out). */
static void
report_keras(struct h5scan *s)
{
	char *ver = NULL, *be = NULL;
	size_t n;

	if (read_attr(s->file, "keras_version", 128, &ver, &n) == 0)
		printable(ver);
	if (read_attr(s->file, "backend", 128, &be, &n) == 0)
		printable(be);
	H5Eclear2(H5E_DEFAULT);
	cst_artifact_emit(s->fn, s->arg, "hdf5.keras_model", CST_SEV_INFO, ver,
	    CST_FINDING_NO_OFFSET, "a Keras HDF5 model (keras_version %s, backend %s)",
	    ver ? ver : "not recorded", be ? be : "not recorded");
	cst_free(ver);
	cst_free(be);
}

/* A dataset whose raw data is in other files: external storage or a virtual dataset. */
static int
check_dataset(struct h5scan *s, hid_t group, const char *name)
{
	hid_t d, pl = H5I_INVALID_HID;
	int ext = 0;
	H5D_layout_t lay = H5D_LAYOUT_ERROR;

	if ((d = H5Dopen2(group, name, H5P_DEFAULT)) < 0)
		return -1;
	if ((pl = H5Dget_create_plist(d)) >= 0) {
		ext = H5Pget_external_count(pl);
		lay = H5Pget_layout(pl);
		H5Pclose(pl);
	}
	H5Dclose(d);
	if (pl < 0 || ext < 0 || lay == H5D_LAYOUT_ERROR)
		return -1;
	if (ext > 0 || lay == H5D_VIRTUAL)
		cst_artifact_emit(s->fn, s->arg, "hdf5.external_storage", CST_SEV_HIGH, name,
		    CST_FINDING_NO_OFFSET, "dataset \"%.300s\" keeps its data in other files (%s): "
		    "loading the weights reads them", name, ext > 0 ? "external storage" :
		    "a virtual dataset");
	return 0;
}

static herr_t
visit_cb(hid_t group, const char *name, const H5L_info_t *li, void *arg)
{
	struct h5scan *s = arg;
	H5O_info_t oi;

	if (++s->links > CST_HDF5_MAX_LINKS) {
		fail(s, CST_ELIMIT, "the file has more than 100000 links");
		return 1;	/* stop */
	}
	if (li->type == H5L_TYPE_SOFT)
		return 0;
	if (li->type != H5L_TYPE_HARD) {
		cst_artifact_emit(s->fn, s->arg, "hdf5.external_link", CST_SEV_MEDIUM, name,
		    CST_FINDING_NO_OFFSET, "link \"%.300s\" is %s link: following it opens "
		    "another file", name, li->type == H5L_TYPE_EXTERNAL ? "an external" :
		    "a user-defined");
		return 0;
	}
	if (H5Oget_info_by_name2(group, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
	    (oi.type == H5O_TYPE_DATASET && check_dataset(s, group, name) != 0)) {
		fail(s, CST_EINVAL, "an object cannot be read");
		return 1;
	}
	return 0;
}

int
cst_hdf5_scan(const struct cst_artifact_src *src, cst_finding_fn fn, void *arg,
    struct cst_hdf5_info *info)
{
	struct h5scan s;
	struct drv_info di;
	hid_t drv = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
	bool model = false, training = false;
	int io_err = 0;

	memset(&s, 0, sizeof(s));
	s.fn = fn;
	s.arg = arg;
	s.file = H5I_INVALID_HID;
	di.src = src;
	di.io_err = &io_err;
	if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0 || H5PLset_loading_state(0) < 0 ||
	    (drv = H5FDregister(&drv_class)) < 0 || (fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
	    H5Pset_driver(fapl, drv, &di) < 0 ||
	    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
		fail(&s, CST_EINVAL, "libhdf5 cannot be set up");
		goto out;
	}
	if ((s.file = H5Fopen("castellan-source", H5F_ACC_RDONLY, fapl)) < 0) {
		fail(&s, CST_EINVAL, "libhdf5 cannot open the file");
		goto out;
	}
	scan_config(&s, "model_config", &model);
	if (s.err == CST_ENOMEM)
		goto out;
	scan_config(&s, "training_config", &training);
	if (s.err == CST_ENOMEM)
		goto out;
	if (model)
		report_keras(&s);
	else
		cst_artifact_emit(fn, arg, "hdf5.no_model_config", CST_SEV_INFO, NULL,
		    CST_FINDING_NO_OFFSET, "no model_config attribute: not a Keras model (weights "
		    "or data only); nothing in it is deserialized on load");
	if (H5Lvisit(s.file, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &s) < 0 && s.err == 0)
		fail(&s, CST_EINVAL, "the links cannot be read");
out:
	if (s.file >= 0 && H5Fclose(s.file) < 0 && s.err == 0)
		fail(&s, CST_EINVAL, "libhdf5 cannot close the file");
	if (fapl >= 0)
		H5Pclose(fapl);
	if (drv >= 0)
		H5FDunregister(drv);
	H5Eclear2(H5E_DEFAULT);
	if (io_err != 0 && (s.err == 0 || s.err == CST_EINVAL))
		return io_err;
	if (s.err == 0 && info != NULL)
		info->keras_model = model;
	return s.err;
}
